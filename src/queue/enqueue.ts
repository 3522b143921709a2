import { Queue, type ConnectionOptions, type Job } from 'bullmq';
import { readFile } from 'node:fs/promises';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { sha256File, sha256Hex } from '../core/files.js';
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
  /** File paths, or bytes held in memory with their name, in the order the results keep. */
  inputs: readonly QueuedInput[];
  /** Jobs outstanding at once: bounds the bytes held in Redis. */
  window?: number;
  /** Attempts per job before it is dead-lettered. */
  attempts?: number;
  /** First retry delay; doubles on each retry. */
  backoffMs?: number;
  pollMs?: number;
  /** Say so on stderr when nothing has finished for this long. */
  stallNoticeMs?: number;
  /** Called as inputs finish, with how many just did (for the caller's progress bar). */
  onSettled?: (count: number) => void;
}

export type QueuedInput = string | { name: string; bytes: Uint8Array };

/** One input's outcome, in input order. */
export interface QueuedFileOutcome {
  /** The path, or the in-memory input's name. */
  name: string;
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
  try {
    const client = await connect(queue, batch.displayUrl);
    const optionsHash = optionsHashOf(batch.kind, batch.options);
    await client.set(keys.options(optionsHash), canonicalJson(batch.options), 'EX', KEY_TTL_SECONDS);

    // Input positions by content: equal bytes are one job whose result serves every position.
    const outcomes: QueuedFileOutcome[] = new Array(batch.inputs.length);
    const positionsBySha = new Map<string, number[]>();
    const firstInput = new Map<string, QueuedInput>();
    for (const [position, input] of batch.inputs.entries()) {
      const name = typeof input === 'string' ? input : input.name;
      try {
        const sha256 = typeof input === 'string' ? await sha256File(input) : sha256Hex(input.bytes);
        const positions = positionsBySha.get(sha256);
        if (positions) positions.push(position);
        else {
          positionsBySha.set(sha256, [position]);
          firstInput.set(sha256, input);
        }
      } catch (error) {
        outcomes[position] = { name, result: { ok: false, error: `cannot read ${name}: ${errorMessage(error)}` } };
        batch.onSettled?.(1);
      }
    }

    const settle = (sha256: string, result: JobResult): void => {
      const positions = positionsBySha.get(sha256) ?? [];
      for (const position of positions) {
        const input = batch.inputs[position];
        outcomes[position] = { name: typeof input === 'string' ? input : input.name, sha256, result };
      }
      batch.onSettled?.(positions.length);
    };

    const toSubmit = [...positionsBySha.keys()];
    const pending = new Map<string, string>(); // job id → sha256
    let lastProgress = Date.now();
    while (toSubmit.length > 0 || pending.size > 0) {
      while (pending.size < window && toSubmit.length > 0) {
        const sha256 = toSubmit.shift() as string;
        const jobId = jobIdOf(batch.kind, optionsHash, sha256);
        const input = firstInput.get(sha256) as QueuedInput;
        const finished = await submit(queue, client, {
          jobId,
          data: { kind: batch.kind, sha256, fileName: typeof input === 'string' ? input : input.name, optionsHash },
          input,
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
    return outcomes;
  } finally {
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
  job: { jobId: string; data: JobData; input: QueuedInput; attempts: number; backoffMs: number },
): Promise<JobResult | undefined> {
  const existing = await queue.getJob(job.jobId);
  if (existing) {
    const state = await existing.getState();
    if (state === 'completed') return existing.returnvalue;
    if (state !== 'failed') return undefined; // waiting, active or delayed: just wait for it
  }
  let bytes: Buffer;
  try {
    bytes = typeof job.input === 'string' ? await readFile(job.input) : Buffer.from(job.input.bytes);
  } catch (error) {
    return { ok: false, error: `cannot read ${job.data.fileName}: ${errorMessage(error)}` };
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
