/**
 * What the enqueuing command and the workers agree on: queue and key names, job data, job ids.
 * Bumping PROTOCOL_VERSION keeps old workers from picking up jobs they would misread.
 */
import { sha256Hex } from '../core/files.js';

/** 2: options travel in each job, jobs and results are signed (VIGIL_QUEUE_SECRET), ids are keyed. */
export const PROTOCOL_VERSION = 2;

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
 * Nothing else a worker needs is stored apart from its job: the options travel in every job, so a
 * Redis that restarts empty loses only jobs, which the enqueuing command submits again.
 */
export const keys = {
  blob: (jobId: string): string => `vigil:v${PROTOCOL_VERSION}:blob:${jobId}`,
  deadLetters: `vigil:v${PROTOCOL_VERSION}:dead-letters`,
  /** Job ids already in the dead-letter list, so the worker and the enqueuer never both add one. */
  deadLetterIds: `vigil:v${PROTOCOL_VERSION}:dead-letter-ids`,
};

/**
 * Why a worker fails a job whose bytes are not in Redis. The enqueuing command recognises it and
 * submits the job again with its bytes: a Redis restart between storing the bytes and adding the
 * job (two commands, not one transaction) leaves a job without them.
 */
export function missingBytesReason(fileName: string): string {
  return `the bytes of ${fileName} are ${MISSING_BYTES}; run the enqueuing command again`;
}

const MISSING_BYTES = 'no longer in Redis (expired or deleted)';

export function isMissingBytesReason(reason: string | undefined): boolean {
  return reason !== undefined && reason.includes(MISSING_BYTES);
}

/** Seconds a blob or finished job outlives its last use by an enqueuing command. */
export const KEY_TTL_SECONDS = 7 * 24 * 3600;

/** Dead-letter entries kept (newest first); older ones are trimmed. */
export const DEAD_LETTER_LIMIT = 10_000;

export interface JobData {
  kind: JobKind;
  /** sha256 of the file's bytes: the blob key and half of the job id. */
  sha256: string;
  /** The first path the enqueuing command saw with these bytes (for logs and dead letters). */
  fileName: string;
  /** Hash of the processing options (workers build one processor per hash). */
  optionsHash: string;
  /** The processing options themselves: everything the worker needs travels in the job. */
  options: unknown;
  /** The enqueuer's signature over the job id and every field above (integrity.ts). */
  mac: string;
}

/** What a worker stores as the job's return value: the result and its signature (integrity.ts). */
export interface SignedResult {
  result: JobResult;
  /** HMAC over job id, options hash, input sha256 and the result. */
  mac: string;
}

/** The fields a job's signature covers. */
export function signedJobFields(jobId: string, data: Omit<JobData, 'mac'>): unknown {
  return { jobId, kind: data.kind, sha256: data.sha256, fileName: data.fileName, optionsHash: data.optionsHash, options: data.options };
}

/** The fields a result's signature covers. */
export function signedResultFields(jobId: string, optionsHash: string, sha256: string, result: JobResult): unknown {
  return { jobId, optionsHash, sha256, result };
}

/**
 * What a job returns. Input errors (a corrupt image) are results, not failures: retrying cannot
 * fix them, and a local run records them the same way.
 */
export type JobResult = { ok: true; value: unknown } | { ok: false; error: string };

/** One record of the dead-letter list: a job that failed every attempt. */
export interface DeadLetter {
  jobId: string;
  /** Copied from the job's data, which may be anything: untrusted text. */
  kind: string;
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
