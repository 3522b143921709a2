import { Queue, type ConnectionOptions, type Job } from 'bullmq';
import { readFile } from 'node:fs/promises';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { sha256File } from '../core/files.js';
import { createProgress } from '../core/progress.js';
import { redisCommands, type RedisCommands } from './redis.js';
import { forgetDeadLetter, recordDeadLetter } from './dead-letters.js';
import {
  KEY_TTL_SECONDS,
  QUEUE_NAME,
  canonicalJson,
  jobIdOf,
  keys,
  optionsHashOf,
  type JobData,
  type JobKind,
  type JobResult,
} from './protocol.js';

export interface QueuedBatchOptions {
  connection: ConnectionOptions;
  /** The URL as the user gave it (password masked), for messages. */
  displayUrl: string;
  kind: JobKind;
  /** The processing options, identical for every file; workers load their models from them. */
  options: unknown;
  /** Files in the order the results should keep. */
  paths: readonly string[];
  /** Jobs outstanding at once: bounds the bytes held in Redis. */
  window?: number;
  /** Attempts per job before it is dead-lettered. */
  attempts?: number;
  /** First retry delay; doubles on each retry. */
  backoffMs?: number;
  pollMs?: number;
  /** Say so on stderr when nothing has finished for this long. */
  stallNoticeMs?: number;
  quiet?: boolean;
  progressLabel?: string;
}

/** One file's outcome, in input order. */
export interface QueuedFileOutcome {
  path: string;
  /** Absent when the file could not even be read. */
  sha256?: string;
  result: JobResult;
}

const CONNECT_TIMEOUT_MS = 5000;

/**
 * Fans a batch out over Redis: one job per distinct file content (same bytes = same job, done
 * once), at most `window` outstanding, then collects each job's result for every path with those
 * bytes. Files that cannot be read, input errors and jobs that failed every attempt all come back
 * as `{ ok: false, error }`, so the batch always completes.
 */
export async function runQueuedBatch(batch: QueuedBatchOptions): Promise<QueuedFileOutcome[]> {
  const window = batch.window ?? 64;
  const attempts = batch.attempts ?? 3;
  const backoffMs = batch.backoffMs ?? 1000;
  const pollMs = batch.pollMs ?? 200;
  const stallNoticeMs = batch.stallNoticeMs ?? 60_000;
  const queue = new Queue<JobData, JobResult>(QUEUE_NAME, { connection: batch.connection });
  queue.on('error', () => {
    // Reconnection is BullMQ's job; a lasting outage surfaces as the stall notice below.
  });
  const progress = createProgress(batch.progressLabel ?? `${batch.kind} via ${batch.displayUrl}`, {
    quiet: batch.quiet,
    total: batch.paths.length,
  });
  try {
    const client = await connect(queue, batch.displayUrl);
    const optionsHash = optionsHashOf(batch.kind, batch.options);
    await client.set(keys.options(optionsHash), canonicalJson(batch.options), 'EX', KEY_TTL_SECONDS);

    const outcomes = new Map<string, QueuedFileOutcome>();
    const pathsBySha = new Map<string, string[]>();
    for (const path of batch.paths) {
      try {
        const sha256 = await sha256File(path);
        const paths = pathsBySha.get(sha256);
        if (paths) paths.push(path);
        else pathsBySha.set(sha256, [path]);
      } catch (error) {
        outcomes.set(path, { path, result: { ok: false, error: `cannot read ${path}: ${errorMessage(error)}` } });
        progress.increment();
      }
    }

    const settle = (sha256: string, result: JobResult): void => {
      const paths = pathsBySha.get(sha256) ?? [];
      for (const path of paths) outcomes.set(path, { path, sha256, result });
      progress.increment(paths.length);
    };

    const toSubmit = [...pathsBySha.keys()];
    const pending = new Map<string, string>(); // job id → sha256
    let lastProgress = Date.now();
    while (toSubmit.length > 0 || pending.size > 0) {
      while (pending.size < window && toSubmit.length > 0) {
        const sha256 = toSubmit.shift() as string;
        const jobId = jobIdOf(batch.kind, optionsHash, sha256);
        const firstPath = (pathsBySha.get(sha256) as string[])[0];
        const finished = await submit(queue, client, {
          jobId,
          data: { kind: batch.kind, sha256, fileName: firstPath, optionsHash },
          path: firstPath,
          attempts,
          backoffMs,
        });
        if (finished) settle(sha256, finished);
        else pending.set(jobId, sha256);
      }
      let progressed = false;
      for (const [jobId, sha256] of pending) {
        const result = await finishedResult(queue, client, jobId);
        if (result === 'gone') {
          // Removed under us (an operator cleaned the queue): submit again.
          pending.delete(jobId);
          toSubmit.push(sha256);
        } else if (result !== undefined) {
          pending.delete(jobId);
          settle(sha256, result);
          progressed = true;
        }
      }
      if (progressed) lastProgress = Date.now();
      else if (pending.size > 0) {
        if (Date.now() - lastProgress >= stallNoticeMs) {
          await noticeStall(queue, batch.displayUrl, pending.size);
          lastProgress = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    }
    progress.stop();
    return batch.paths.map((path) => outcomes.get(path) as QueuedFileOutcome);
  } finally {
    progress.stop();
    await queue.close();
  }
}


async function connect(queue: Queue, displayUrl: string): Promise<RedisCommands> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new VigilInputError(`Cannot reach Redis at ${displayUrl} within ${CONNECT_TIMEOUT_MS / 1000} s`, { subject: '--queue' })),
      CONNECT_TIMEOUT_MS,
    );
  });
  try {
    const client = await Promise.race([redisCommands(queue), timeout]);
    await Promise.race([client.ping(), timeout]);
    return client;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Adds the job unless it exists. Returns its result at once when it already finished (an earlier
 * run did the work); re-runs it when it had failed for good.
 */
async function submit(
  queue: Queue<JobData, JobResult>,
  client: RedisCommands,
  job: { jobId: string; data: JobData; path: string; attempts: number; backoffMs: number },
): Promise<JobResult | undefined> {
  const existing = await queue.getJob(job.jobId);
  if (existing) {
    const state = await existing.getState();
    if (state === 'completed') return existing.returnvalue;
    if (state !== 'failed') return undefined; // waiting, active or delayed: just wait for it
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(job.path);
  } catch (error) {
    return { ok: false, error: `cannot read ${job.path}: ${errorMessage(error)}` };
  }
  await client.set(keys.blob(job.jobId), bytes, 'EX', KEY_TTL_SECONDS);
  if (existing) {
    await forgetDeadLetter(client, job.jobId);
    await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return undefined;
  }
  await queue.add(job.data.kind, job.data, {
    jobId: job.jobId,
    attempts: job.attempts,
    backoff: { type: 'exponential', delay: job.backoffMs },
    // Kept a while so that re-running the same batch reuses results instead of recomputing.
    removeOnComplete: { age: KEY_TTL_SECONDS },
    removeOnFail: { age: KEY_TTL_SECONDS },
  });
  return undefined;
}

/** The job's result once it has finished, undefined while it runs, 'gone' if it disappeared. */
async function finishedResult(
  queue: Queue<JobData, JobResult>,
  client: RedisCommands,
  jobId: string,
): Promise<JobResult | undefined | 'gone'> {
  const job: Job<JobData, JobResult> | undefined = await queue.getJob(jobId);
  if (!job) return 'gone';
  if (job.finishedOn === undefined) return undefined;
  const state = await job.getState();
  if (state === 'completed') return job.returnvalue;
  if (state !== 'failed') return undefined;
  await recordDeadLetter(client, job);
  await client.del(keys.blob(jobId));
  return { ok: false, error: `failed after ${job.attemptsMade} attempt(s), dead-lettered: ${job.failedReason ?? 'unknown reason'}` };
}

async function noticeStall(queue: Queue, displayUrl: string, pending: number): Promise<void> {
  try {
    const [workers, counts] = await Promise.all([queue.getWorkersCount(), queue.getJobCounts('waiting', 'active', 'delayed')]);
    const hint = workers === 0 ? `; no worker is connected: start \`vigil worker --queue ${displayUrl}\`` : '';
    process.stderr.write(
      `vigil: still waiting for ${pending} job(s): ${counts.waiting} waiting, ${counts.active} active, ${counts.delayed} delayed, ${workers} worker(s)${hint}\n`,
    );
  } catch (error) {
    process.stderr.write(`vigil: still waiting for ${pending} job(s); Redis at ${displayUrl} does not answer: ${errorMessage(error)}\n`);
  }
}
