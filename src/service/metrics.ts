import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdmissionGate } from './admission.js';

/** Why a request failed, as counted in `vigil_errors_total{kind}` and returned as `error.code`. */
export type ServiceErrorKind =
  | 'unauthorized'
  | 'body-too-large'
  | 'pixel-limit'
  | 'unsupported-media-type'
  | 'bad-request'
  | 'invalid-image'
  | 'overloaded'
  | 'slow-client'
  | 'too-many-requests'
  | 'not-ready'
  | 'timeout'
  | 'not-found'
  | 'internal';

/**
 * The service's Prometheus metrics, in a registry of its own (not prom-client's global one), so
 * several servers in one process (tests) never share counters.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly latency: Histogram<'route'>;
  readonly errors: Counter<'kind'>;

  constructor(gate: AdmissionGate) {
    collectDefaultMetrics({ register: this.registry, prefix: 'vigil_' });
    this.requests = new Counter({
      name: 'vigil_http_requests_total',
      help: 'HTTP requests answered, by route, method and status code',
      labelNames: ['route', 'method', 'status'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'vigil_http_request_duration_seconds',
      help: 'Time from request received to response sent, by route',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    this.errors = new Counter({
      name: 'vigil_errors_total',
      help: 'Requests that failed, by kind of error',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'vigil_inference_queue_depth',
      help: 'Admitted requests waiting for an inference slot',
      registers: [this.registry],
      collect() {
        this.set(gate.queued);
      },
    });
    new Gauge({
      name: 'vigil_inference_in_flight',
      help: 'Requests running inference now',
      registers: [this.registry],
      collect() {
        this.set(gate.inFlight);
      },
    });
  }
}
