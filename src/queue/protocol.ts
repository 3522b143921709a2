/**
 * What the enqueuing command and the workers agree on: queue and key names, job data, job ids.
 * Bumping PROTOCOL_VERSION keeps old workers from picking up jobs they would misread.
 */
import { sha256Hex } from '../core/files.js';

export const PROTOCOL_VERSION = 1;

/**
 * Kinds of work a worker can do; each has a processor in processors.ts. `screen`: one file's
 * screening record; `bias`: one probe image's model observation (embedding, classification or
 * reconstruction) for `vigil bias --queue`.
 */
export type JobKind = 'screen' | 'bias';

export const QUEUE_NAME = `vigil-v${PROTOCOL_VERSION}`;

/**
 * Redis keys outside BullMQ's own. File bytes travel through Redis (workers need no shared file
 * system) and are deleted once their job has finished; the TTL only covers an abandoned run.
 */
export const keys = {
  blob: (jobId: string): string => `vigil:v${PROTOCOL_VERSION}:blob:${jobId}`,
  options: (optionsHash: string): string => `vigil:v${PROTOCOL_VERSION}:options:${optionsHash}`,
  deadLetters: `vigil:v${PROTOCOL_VERSION}:dead-letters`,
  /** Job ids already in the dead-letter list, so the worker and the enqueuer never both add one. */
  deadLetterIds: `vigil:v${PROTOCOL_VERSION}:dead-letter-ids`,
};

/** Seconds a blob or options document outlives its last use by an enqueuing command. */
export const KEY_TTL_SECONDS = 7 * 24 * 3600;

/** Dead-letter entries kept (newest first); older ones are trimmed. */
export const DEAD_LETTER_LIMIT = 10_000;

export interface JobData {
  kind: JobKind;
  /** sha256 of the file's bytes: the blob key and half of the job id. */
  sha256: string;
  /** The first path the enqueuing command saw with these bytes (for logs and dead letters). */
  fileName: string;
  /** Hash of the processing options; the options document is stored once under keys.options. */
  optionsHash: string;
}

/**
 * What a job returns. Input errors (a corrupt image) are results, not failures: retrying cannot
 * fix them, and a local run records them the same way.
 */
export type JobResult = { ok: true; value: unknown } | { ok: false; error: string };

/** One record of the dead-letter list: a job that failed every attempt. */
export interface DeadLetter {
  jobId: string;
  kind: JobKind;
  sha256: string;
  fileName: string;
  failedReason: string;
  attemptsMade: number;
  failedAt: string;
}

/** Canonical JSON (sorted keys) so equal options always hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function optionsHashOf(kind: JobKind, options: unknown): string {
  return sha256Hex(canonicalJson({ kind, options, protocol: PROTOCOL_VERSION }));
}

/**
 * Same bytes + same options = same job: re-enqueueing is a no-op, and a finished job's result is
 * reused. BullMQ ids may not contain ':'.
 */
export function jobIdOf(kind: JobKind, optionsHash: string, sha256: string): string {
  return `${kind}-${optionsHash.slice(0, 16)}-${sha256}`;
}
