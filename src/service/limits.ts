import { invalidArgument } from '../core/errors.js';

/** What one `vigil serve` process accepts and how much work it holds at once. */
export interface ServiceLimits {
  /** Largest request body (raw or the one multipart file), in bytes; larger → 413. */
  maxBodyBytes: number;
  /** Largest image, in pixels (width × height × pages) read from its header before decoding; larger → 413. */
  maxPixels: number;
  /** Time from the request's body received to its response, in milliseconds, queue wait included; longer → 504. */
  requestTimeoutMs: number;
  /** Longest a client may take to send its whole body, in milliseconds; longer → 408 and the connection is closed. */
  bodyTimeoutMs: number;
  /** Slowest body transfer accepted once `bodyGraceMs` have passed, in bytes per second; slower → 408. */
  minBodyBytesPerSecond: number;
  /** Time a body may take to get going before the minimum rate applies, in milliseconds. */
  bodyGraceMs: number;
  /** Bodies being received at once (admission slots are taken only once a body is in); beyond → 503. */
  maxReceiving: number;
  /** Inference requests of one API key at once, receiving, queued and running; beyond → 429. */
  maxPerKey: number;
  /** Inference calls running at once. */
  maxInFlight: number;
  /** Admitted requests waiting for an inference slot; beyond that → 503 + Retry-After. */
  maxQueued: number;
  /** The Retry-After value sent with 503, in seconds. */
  retryAfterSeconds: number;
  /** On SIGTERM/SIGINT, how long to wait for in-flight requests before exiting anyway, in milliseconds. */
  drainTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  maxBodyBytes: 20 * 1024 * 1024,
  maxPixels: 40_000_000,
  requestTimeoutMs: 30_000,
  bodyTimeoutMs: 20_000,
  minBodyBytesPerSecond: 16 * 1024,
  bodyGraceMs: 2000,
  maxReceiving: 64,
  maxPerKey: 8,
  maxInFlight: 2,
  maxQueued: 16,
  retryAfterSeconds: 1,
  drainTimeoutMs: 30_000,
};

function positiveInteger(name: string, value: number, allowZero = false): number {
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw invalidArgument(name, allowZero ? 'a non-negative integer' : 'a positive integer', value);
  }
  return value;
}

/** Defaults overridden by `overrides`, every value checked. */
export function resolveLimits(overrides: Partial<ServiceLimits> = {}): ServiceLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  positiveInteger('maxBodyBytes', limits.maxBodyBytes);
  positiveInteger('maxPixels', limits.maxPixels);
  positiveInteger('requestTimeoutMs', limits.requestTimeoutMs);
  positiveInteger('bodyTimeoutMs', limits.bodyTimeoutMs);
  positiveInteger('minBodyBytesPerSecond', limits.minBodyBytesPerSecond, true);
  positiveInteger('bodyGraceMs', limits.bodyGraceMs, true);
  positiveInteger('maxReceiving', limits.maxReceiving);
  positiveInteger('maxPerKey', limits.maxPerKey);
  positiveInteger('maxInFlight', limits.maxInFlight);
  positiveInteger('maxQueued', limits.maxQueued, true);
  positiveInteger('retryAfterSeconds', limits.retryAfterSeconds);
  positiveInteger('drainTimeoutMs', limits.drainTimeoutMs);
  return limits;
}
