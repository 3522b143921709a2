import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorResponse } from './errors.js';
import type { ServiceLimits } from './limits.js';

/**
 * Watches one request's body as it arrives, from the socket's byte count (the body stream itself is
 * left to the body parser). A body not complete within `bodyTimeoutMs`, or arriving slower than
 * `minBodyBytesPerSecond` once `bodyGraceMs` have passed, is answered 408 and its connection closed:
 * a client trickling bytes cannot hold a place for long, and it never holds an admission slot,
 * which is taken only once the body is in. Requests without a real socket (inject) are not watched.
 */
export function watchBody(
  request: FastifyRequest,
  reply: FastifyReply,
  limits: Pick<ServiceLimits, 'bodyTimeoutMs' | 'minBodyBytesPerSecond' | 'bodyGraceMs'>,
  onCutOff: () => void,
): void {
  const raw = request.raw;
  const socket = raw.socket as (typeof raw.socket & { bytesRead?: number }) | null;
  if (raw.complete || !socket || typeof socket.bytesRead !== 'number') return;
  const startedAt = Date.now();
  const baseline = socket.bytesRead;
  const stop = (): void => clearInterval(timer);
  const timer = setInterval(() => {
    if (raw.complete || raw.destroyed || socket.destroyed) return stop();
    const elapsed = Date.now() - startedAt;
    const received = socket.bytesRead! - baseline;
    const rate = received / (elapsed / 1000);
    let reason: string | undefined;
    if (elapsed > limits.bodyTimeoutMs) reason = `The request body was not received within ${limits.bodyTimeoutMs} ms`;
    else if (elapsed > limits.bodyGraceMs && rate < limits.minBodyBytesPerSecond) {
      reason = `The request body arrives at ${Math.round(rate)} bytes/s, under the minimum of ${limits.minBodyBytesPerSecond} bytes/s`;
    }
    if (reason === undefined) return;
    stop();
    onCutOff();
    const body: ErrorResponse = { error: { code: 'slow-client', message: reason }, requestId: String(request.id) };
    if (!reply.raw.headersSent) {
      reply.raw.writeHead(408, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      reply.raw.end(JSON.stringify(body), () => socket.destroy());
    } else socket.destroy();
  }, 100);
  timer.unref();
  raw.once('end', stop);
  raw.once('close', stop);
}

/** Inference requests in progress per API key, for the per-key concurrency limit. */
export class PerKeyCounter {
  private readonly active = new Map<string, number>();

  constructor(readonly limit: number) {}

  /** Takes a place for the key; a release function, or undefined when the key is at its limit. */
  tryTake(keyId: string): (() => void) | undefined {
    const count = this.active.get(keyId) ?? 0;
    if (count >= this.limit) return undefined;
    this.active.set(keyId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const now = (this.active.get(keyId) ?? 1) - 1;
      if (now <= 0) this.active.delete(keyId);
      else this.active.set(keyId, now);
    };
  }
}
