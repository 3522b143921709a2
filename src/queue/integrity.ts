/**
 * What makes queued work trustworthy although it crosses Redis, which anyone with network access
 * to it can read and write: a per-deployment secret (VIGIL_QUEUE_SECRET) shared by the enqueuing
 * command and every worker. Job ids are keyed by it (they cannot be pre-computed without it, so a
 * forged "completed" job cannot be planted under the id a run will look up), every job's data is
 * signed by the enqueuer, and every result is signed by the worker over the job id, options hash,
 * input sha256 and the result itself; each side verifies the other's signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { VigilInputError } from '../core/errors.js';
import { canonicalJson, type JobKind } from './protocol.js';

/** A shorter secret could be guessed; `openssl rand -hex 32` gives 64 characters. */
export const MIN_QUEUE_SECRET_LENGTH = 32;

/** The deployment's queue secret, held as bytes. */
export interface QueueSecret {
  readonly key: Buffer;
  /** Public, stable per-secret prefix of every job id (tells deployments sharing a Redis apart). */
  readonly namespace: string;
}

function hmacHex(key: Buffer, purpose: string, value: unknown): string {
  return createHmac('sha256', key).update(`${purpose}\n${canonicalJson(value)}`).digest('hex');
}

/** A secret from its text; refuses short or whitespace-padded ones. */
export function queueSecret(text: string, source = 'VIGIL_QUEUE_SECRET'): QueueSecret {
  if (text.length < MIN_QUEUE_SECRET_LENGTH || /\s/.test(text)) {
    throw new VigilInputError(
      `Expected ${source} to be at least ${MIN_QUEUE_SECRET_LENGTH} characters without whitespace ` +
        `(e.g. \`openssl rand -hex 32\`) but received ${text.length === 0 ? 'an empty value' : `${text.length} characters`}`,
      { subject: source },
    );
  }
  const key = Buffer.from(text, 'utf8');
  return { key, namespace: hmacHex(key, 'namespace', null).slice(0, 12) };
}

/** VIGIL_QUEUE_SECRET, required by queue mode: the enqueuing command and workers refuse to start without it. */
export function queueSecretFromEnv(env: NodeJS.ProcessEnv = process.env): QueueSecret {
  const text = env.VIGIL_QUEUE_SECRET;
  if (text === undefined || text === '') {
    throw new VigilInputError(
      'Queue mode needs VIGIL_QUEUE_SECRET: set the same secret (at least 32 characters, e.g. `openssl rand -hex 32`) ' +
        'for the enqueuing command and every `vigil worker`, so that results read back from Redis can be authenticated',
      { subject: 'VIGIL_QUEUE_SECRET' },
    );
  }
  return queueSecret(text);
}

/** Signs `value` for one purpose (job data, job result): an HMAC-SHA256 over its canonical JSON. */
export function sign(secret: QueueSecret, purpose: 'job' | 'result', value: unknown): string {
  return hmacHex(secret.key, purpose, value);
}

/** Constant-time check of a signature made by `sign`. */
export function verify(secret: QueueSecret, purpose: 'job' | 'result', value: unknown, mac: string): boolean {
  const expected = Buffer.from(sign(secret, purpose, value), 'hex');
  const given = Buffer.from(/^[0-9a-f]{64}$/.test(mac) ? mac : '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Same secret + kind + options + bytes = same job: re-enqueueing is a no-op and a finished job's
 * (verified) result is reused. Keyed by the secret, so nobody without it can pre-compute the id a
 * run will look up. BullMQ ids may not contain ':'.
 */
export function jobIdOf(secret: QueueSecret, kind: JobKind, optionsHash: string, sha256: string): string {
  return `${kind}-${secret.namespace}-${hmacHex(secret.key, 'job-id', { kind, optionsHash, sha256 }).slice(0, 40)}`;
}
