import { Queue, type ConnectionOptions, type Job } from 'bullmq';
import type { z } from 'zod';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { readInputFile, sha256Hex } from '../core/files.js';
import { printable } from '../core/printable.js';
import { redisCommands, type RedisCommands } from './redis.js';
import { forgetDeadLetter, recordDeadLetter, withdrawDeadLetter } from './dead-letters.js';
import { jobIdOf, sign, verify, type QueueSecret } from './integrity.js';
import {
  KEY_TTL_SECONDS,
  QUEUE_NAME,
  isMissingBytesReason,
  keys,
  optionsHashOf,
  signedJobFields,
  signedResultFields,
  type JobData,
  type JobKind,
  type JobResult,
  type SignedResult,
} from './protocol.js';
import { firstIssue, signedResultSchema } from './schemas.js';

export interface QueuedBatchOptions {
  connection: ConnectionOptions;
  /** The URL as the user gave it (password masked), for messages. */
  displayUrl: string;
  kind: JobKind;
  /** The processing options, identical for every file; workers load their models from them. */
  options: unknown;
  /** The deployment's VIGIL_QUEUE_SECRET: signs jobs, keys job ids, authenticates results. */
  secret: QueueSecret;
  /** What a successful job's value must look like; a value that does not match is refused. */
  valueSchema: z.ZodType;
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
  /**
   * True when the job itself failed (dead-lettered, or its result never verified), as opposed to
   * an input error a local run records the same way: the command exits non-zero and says how many.
   */
  jobFailed: boolean;
}

/** Times a job whose result does not verify is run again before it is failed. */
const REJECTED_RESULT_RERUNS = 1;

/** Times a job that lost its bytes (Redis restarted while it was being submitted) is submitted again. */
const MISSING_BYTES_RESUBMITS = 3;

const CONNECT_TIMEOUT_MS = 5000;

/**
 * Fans a batch out over Redis: one job per distinct file content (same bytes = same job, done
 * once), at most `window` outstanding, then collects each job's result for every path with those
 * bytes. Files that cannot be read, input errors and jobs that failed every attempt all come back
 * as `{ ok: false, error }`, so the batch always completes.
 *
 * Nothing read back from Redis is taken on trust: a finished job's value is used only when its
 * signature (VIGIL_QUEUE_SECRET) verifies over this job's id, options hash and input sha256 and the
 * value matches `valueSchema`. A result that does not is discarded and its job run again; one that
 * still does not verify fails the job. If Redis restarts and loses jobs, they are submitted again.
 */
export async function runQueuedBatch(batch: QueuedBatchOptions): Promise<QueuedFileOutcome[]> {
  const window = batch.window ?? 64;
  const attempts = batch.attempts ?? 3;
  const backoffMs = batch.backoffMs ?? 1000;
  const pollMs = batch.pollMs ?? 200;
  const stallNoticeMs = batch.stallNoticeMs ?? 60_000;
  const queue = new Queue<JobData, SignedResult>(QUEUE_NAME, { connection: batch.connection });
  queue.on('error', () => {
    // Reconnection is BullMQ's job; a lasting outage surfaces as the stall notice below.
  });
  try {
    const client = await connect(queue, batch.displayUrl);
    const optionsHash = optionsHashOf(batch.kind, batch.options);
    const check = (jobId: string, sha256: string, stored: unknown): JobResult | { rejected: string } =>
      checkedResult(batch, { jobId, optionsHash, sha256 }, stored);
    const rejections = new Map<string, number>(); // job id → results refused so far
    const resubmits = new Map<string, number>(); // job id → times submitted again after losing its bytes

    // Input positions by content: equal bytes are one job whose result serves every position.
    const outcomes: QueuedFileOutcome[] = new Array(batch.inputs.length);
    const positionsBySha = new Map<string, number[]>();
    const firstInput = new Map<string, QueuedInput>();
    for (const [position, input] of batch.inputs.entries()) {
      const name = typeof input === 'string' ? input : input.name;
      try {
        const sha256 = typeof input === 'string' ? sha256Hex(await readInputFile(input)) : sha256Hex(input.bytes);
        const positions = positionsBySha.get(sha256);
        if (positions) positions.push(position);
        else {
          positionsBySha.set(sha256, [position]);
          firstInput.set(sha256, input);
        }
      } catch (error) {
        outcomes[position] = { name, result: { ok: false, error: errorMessage(error) }, jobFailed: false };
        batch.onSettled?.(1);
      }
    }

    const settle = (sha256: string, result: JobResult, jobFailed = false): void => {
      const positions = positionsBySha.get(sha256) ?? [];
      for (const position of positions) {
        const input = batch.inputs[position];
        outcomes[position] = { name: typeof input === 'string' ? input : input.name, sha256, result, jobFailed };
      }
      batch.onSettled?.(positions.length);
    };

    /** A refused result: its job is removed and run again, or failed once it has been refused too often. */
    const refuse = async (jobId: string, sha256: string, reason: string): Promise<void> => {
      const refused = (rejections.get(jobId) ?? 0) + 1;
      rejections.set(jobId, refused);
      process.stderr.write(`vigil: discarded the result of job ${jobId} from Redis: ${printable(reason)}\n`);
      await queue.remove(jobId).catch(() => 0);
      if (refused > REJECTED_RESULT_RERUNS) {
        settle(sha256, { ok: false, error: `the job's result from Redis was refused ${refused} time(s): ${reason}` }, true);
      } else toSubmit.push(sha256);
    };

    const toSubmit = [...positionsBySha.keys()];
    const pending = new Map<string, string>(); // job id → sha256
    let lastProgress = Date.now();
    while (toSubmit.length > 0 || pending.size > 0) {
      while (pending.size < window && toSubmit.length > 0) {
        const sha256 = toSubmit.shift() as string;
        const jobId = jobIdOf(batch.secret, batch.kind, optionsHash, sha256);
        const input = firstInput.get(sha256) as QueuedInput;
        const unsigned = { kind: batch.kind, sha256, fileName: typeof input === 'string' ? input : input.name, optionsHash, options: batch.options };
        const finished = await submit(queue, client, {
          jobId,
          data: { ...unsigned, mac: sign(batch.secret, 'job', signedJobFields(jobId, unsigned)) },
          input,
          attempts,
          backoffMs,
        });
        if (finished === undefined) pending.set(jobId, sha256);
        else if (finished.kind !== 'completed') settle(sha256, finished.result, finished.kind === 'failed');
        else {
          const result = check(jobId, sha256, finished.stored);
          if ('rejected' in result) await refuse(jobId, sha256, result.rejected);
          else settle(sha256, result);
        }
      }
      let progressed = false;
      for (const [jobId, sha256] of pending) {
        const state = await finishedResult(queue, client, jobId);
        if (state === 'gone') {
          // Removed under us (an operator cleaned the queue, Redis restarted empty): submit again.
          pending.delete(jobId);
          toSubmit.push(sha256);
        } else if (state !== undefined) {
          pending.delete(jobId);
          progressed = true;
          if (state.kind === 'failed' && state.missingBytes && (resubmits.get(jobId) ?? 0) < MISSING_BYTES_RESUBMITS) {
            // Redis lost the bytes, not the job (restarted between the two): this command still has them.
            resubmits.set(jobId, (resubmits.get(jobId) ?? 0) + 1);
            await withdrawDeadLetter(client, jobId);
            toSubmit.push(sha256);
          } else if (state.kind !== 'completed') settle(sha256, state.result, state.kind === 'failed');
          else {
            const result = check(jobId, sha256, state.stored);
            if ('rejected' in result) await refuse(jobId, sha256, result.rejected);
            else settle(sha256, result);
          }
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
 * The job's stored value as a result this run may use, or why it is refused: it must be a signed
 * result whose signature verifies for this very job (id, options, input bytes), and a successful
 * value must match the kind's schema.
 */
function checkedResult(
  batch: Pick<QueuedBatchOptions, 'secret' | 'valueSchema'>,
  job: { jobId: string; optionsHash: string; sha256: string },
  stored: unknown,
): JobResult | { rejected: string } {
  const parsed = signedResultSchema.safeParse(stored);
  if (!parsed.success) return { rejected: `not a signed vigil result (${firstIssue(parsed.error)})` };
  const { result, mac } = parsed.data as SignedResult;
  if (!verify(batch.secret, 'result', signedResultFields(job.jobId, job.optionsHash, job.sha256, result), mac)) {
    return { rejected: 'its signature does not verify with this VIGIL_QUEUE_SECRET for this job' };
  }
  if (!result.ok) return result;
  const value = batch.valueSchema.safeParse(result.value);
  if (!value.success) return { rejected: `its value does not match the result schema (${firstIssue(value.error)})` };
  return { ok: true, value: value.data };
}

type Finished =
  | { kind: 'completed'; stored: unknown }
  /** `missingBytes`: the worker found no bytes for it (see missingBytesReason); the input is still here to submit again. */
  | { kind: 'failed'; result: JobResult; missingBytes: boolean }
  | { kind: 'unreadable'; result: JobResult };

/**
 * Adds the job unless it exists. Returns its stored value at once when it already finished (an
 * earlier run did the work; the caller verifies it); re-runs it when it had failed for good.
 */
async function submit(
  queue: Queue<JobData, SignedResult>,
  client: RedisCommands,
  job: { jobId: string; data: JobData; input: QueuedInput; attempts: number; backoffMs: number },
): Promise<Finished | undefined> {
  const existing = await readJob(queue, job.jobId);
  if (existing === 'corrupt') return { kind: 'completed', stored: undefined };
  if (existing) {
    const state = await existing.getState();
    if (state === 'completed') return { kind: 'completed', stored: existing.returnvalue };
    if (state !== 'failed') return undefined; // waiting, active or delayed: just wait for it
  }
  let bytes: Buffer;
  try {
    bytes = typeof job.input === 'string' ? await readInputFile(job.input) : Buffer.from(job.input.bytes);
  } catch (error) {
    return { kind: 'unreadable', result: { ok: false, error: errorMessage(error) } };
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

/** The job, or 'corrupt' when its record in Redis is not JSON (written there by something else than vigil). */
async function readJob(queue: Queue<JobData, SignedResult>, jobId: string): Promise<Job<JobData, SignedResult> | undefined | 'corrupt'> {
  try {
    return await queue.getJob(jobId);
  } catch (error) {
    if (error instanceof SyntaxError) return 'corrupt';
    throw error;
  }
}

/** The job's stored value once it has finished, undefined while it runs, 'gone' if it disappeared. */
async function finishedResult(
  queue: Queue<JobData, SignedResult>,
  client: RedisCommands,
  jobId: string,
): Promise<Finished | undefined | 'gone'> {
  const job = await readJob(queue, jobId);
  if (job === 'corrupt') return { kind: 'completed', stored: undefined };
  if (!job) return 'gone';
  if (job.finishedOn === undefined) return undefined;
  const state = await job.getState();
  if (state === 'completed') return { kind: 'completed', stored: job.returnvalue };
  if (state !== 'failed') return undefined;
  await recordDeadLetter(client, job);
  await client.del(keys.blob(jobId));
  return {
    kind: 'failed',
    result: { ok: false, error: `failed after ${job.attemptsMade} attempt(s), dead-lettered: ${job.failedReason ?? 'unknown reason'}` },
    missingBytes: isMissingBytesReason(job.failedReason),
  };
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
