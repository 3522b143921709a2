import { Job, UnrecoverableError, Worker, type ConnectionOptions, type JobJsonRaw } from 'bullmq';
import { VigilInputError, errorMessage, invalidArgument } from '../core/errors.js';
import { sha256Hex } from '../core/files.js';
import { redisCommands } from './redis.js';
import { recordDeadLetter } from './dead-letters.js';
import { sign, verify, type QueueSecret } from './integrity.js';
import { QUEUE_NAME, keys, missingBytesReason, optionsHashOf, signedJobFields, signedResultFields, type JobData, type JobKind, type JobResult, type SignedResult } from './protocol.js';
import { firstIssue, jobDataSchema } from './schemas.js';

/** Processes one file's bytes (a screening record, a bias observation); input errors come back as `{ ok: false }`, anything thrown is retried. */
export type ProcessFile = (bytes: Buffer, fileName: string) => Promise<JobResult>;

/** Per job kind: builds the file processor for one options document (models load here, once). */
export type ProcessorLoaders = Record<JobKind, (options: unknown) => Promise<ProcessFile>>;

/** Per-job limits of a worker: a hostile or broken job cannot hold a worker or its memory. */
export interface JobLimits {
  /** Largest input a job may carry, in bytes. */
  maxJobBytes: number;
  /** Longest a job may take, in milliseconds; beyond it the job fails for good (dead letter). */
  jobTimeoutMs: number;
}

export const DEFAULT_JOB_LIMITS: JobLimits = { maxJobBytes: 256 * 2 ** 20, jobTimeoutMs: 10 * 60_000 };

export interface WorkerOptions {
  connection: ConnectionOptions;
  loaders: ProcessorLoaders;
  /** The deployment's VIGIL_QUEUE_SECRET: jobs not signed with it are refused, results are signed with it. */
  secret: QueueSecret;
  limits?: Partial<JobLimits>;
  /** Jobs processed at once by this process. */
  concurrency: number;
  /**
   * How long a job stays locked to this worker without a heartbeat. A worker that dies (SIGKILL,
   * machine lost) has its jobs handed to another worker after about this long.
   */
  lockDurationMs: number;
  /** Called after each job, for the command's log. Its fields are untrusted text: print them through printable(). */
  onJobDone?: (event: { job: Job<JobData, SignedResult>; outcome: 'completed' | 'failed'; detail: string }) => void;
  /** Connection and internal errors (BullMQ reconnects by itself); without a listener they would crash the process. */
  onError: (error: Error) => void;
}

/** Stalls (a worker dying mid-job) tolerated before a job is failed: a file that kills workers stops at 2. */
export const MAX_STALLED_COUNT = 2;

/** Marks a job record that could not be parsed, so the processor dead-letters it with the reason. */
const UNPARSEABLE = '__vigilUnparseable';

/**
 * BullMQ parses a job's JSON before any processor sees it; a record whose data or options are not
 * JSON (written into Redis by hand) would throw there and stay active until the stall checker gave
 * up on it. This worker builds such jobs with a marker instead, so they fail at once, with the reason.
 */
class VigilWorker extends Worker<JobData, SignedResult> {
  protected override createJob(data: JobJsonRaw, jobId: string): Job<JobData, SignedResult> {
    try {
      return super.createJob(data, jobId);
    } catch (error) {
      const reason = `the job record is not valid JSON (${errorMessage(error)})`;
      return super.createJob({ ...data, data: JSON.stringify({ [UNPARSEABLE]: reason }), opts: '{}', progress: '0' }, jobId);
    }
  }
}

function checkLimits(limits: JobLimits): void {
  if (!Number.isSafeInteger(limits.maxJobBytes) || limits.maxJobBytes < 1) throw invalidArgument('--max-job-mb', 'a positive size', limits.maxJobBytes);
  if (!Number.isSafeInteger(limits.jobTimeoutMs) || limits.jobTimeoutMs < 1) throw invalidArgument('--job-timeout-ms', 'a positive integer', limits.jobTimeoutMs);
}

/** Rejects with `UnrecoverableError` once `ms` have passed. The work itself cannot be interrupted; its result is dropped. */
async function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new UnrecoverableError(`the job exceeded this worker's ${ms} ms per-job time limit`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A BullMQ worker consuming vigil jobs. Every job is checked before any work: its data against the
 * schema, its signature against VIGIL_QUEUE_SECRET, its input's size and sha256; processors are
 * built from the options the job carries, once per options hash, so models load once per process.
 * Anything refused fails for good and lands in the dead-letter list with the reason.
 */
export function startWorker(options: WorkerOptions): Worker<JobData, SignedResult> {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw invalidArgument('--concurrency', 'a positive integer', options.concurrency);
  }
  if (!Number.isInteger(options.lockDurationMs) || options.lockDurationMs < 1000) {
    throw invalidArgument('--lock-duration', 'an integer of at least 1000 (milliseconds)', options.lockDurationMs);
  }
  const limits = { ...DEFAULT_JOB_LIMITS, ...options.limits };
  checkLimits(limits);
  const { secret } = options;
  const processors = new Map<string, Promise<ProcessFile>>();

  const worker: Worker<JobData, SignedResult> = new VigilWorker(
    QUEUE_NAME,
    async (job) => {
      const raw = job.data as unknown;
      if (raw !== null && typeof raw === 'object' && UNPARSEABLE in raw) throw new UnrecoverableError(String((raw as Record<string, unknown>)[UNPARSEABLE]));
      const parsed = jobDataSchema.safeParse(raw);
      if (!parsed.success) throw new UnrecoverableError(`the job data is not a vigil job (${firstIssue(parsed.error)})`);
      const data = parsed.data as JobData;
      const jobId = job.id as string;
      if (!verify(secret, 'job', signedJobFields(jobId, data), data.mac)) {
        throw new UnrecoverableError("the job's signature does not verify: it was not enqueued with this deployment's VIGIL_QUEUE_SECRET");
      }
      if (optionsHashOf(data.kind, data.options) !== data.optionsHash) throw new UnrecoverableError("the job's options do not match its options hash");
      const { kind, sha256, fileName, optionsHash } = data;
      const client = await redisCommands(worker);
      const size = await client.strlen(keys.blob(jobId));
      if (size > limits.maxJobBytes) {
        throw new UnrecoverableError(`the input of ${fileName} is ${size} bytes, over this worker's limit of ${limits.maxJobBytes} bytes`);
      }
      const bytes = await client.getBuffer(keys.blob(jobId));
      if (bytes === null) {
        throw new UnrecoverableError(missingBytesReason(fileName));
      }
      if (sha256Hex(bytes) !== sha256) throw new UnrecoverableError(`the bytes stored for ${fileName} do not match its sha256`);
      let processor = processors.get(optionsHash);
      if (!processor) {
        processor = options.loaders[kind](data.options);
        processors.set(optionsHash, processor);
        // A failed load (e.g. a model folder being copied) is retried by the next job instead of being cached.
        processor.catch(() => processors.delete(optionsHash));
      }
      const result = await withinTime((async () => (await processor)(bytes, fileName))(), limits.jobTimeoutMs).catch((error: unknown) => {
        // A job naming a file this worker refuses (outside --allow-root, a device) fails for good, with the reason.
        throw error instanceof VigilInputError ? new UnrecoverableError(error.message) : error;
      });
      const signed: SignedResult = { result, mac: sign(secret, 'result', signedResultFields(jobId, optionsHash, sha256, result)) };
      return signed;
    },
    {
      connection: options.connection,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.lockDurationMs,
      maxStalledCount: MAX_STALLED_COUNT,
      // Results are collected by the enqueuing command; BullMQ's own retention is set per job.
      autorun: true,
    },
  );

  worker.on('error', options.onError);
  worker.on('completed', (job, signed) => {
    // The bytes are dropped only after the job is marked complete: a worker dying before that
    // leaves them for the retry.
    void redisCommands(worker).then((client) => client.del(keys.blob(job.id as string))).catch(() => {});
    const result = signed.result;
    options.onJobDone?.({ job, outcome: 'completed', detail: result.ok ? `${String(job.data.kind)} done` : `input error: ${result.error}` });
  });
  worker.on('failed', (job, error) => {
    if (!job) return;
    void (async () => {
      const final = (await job.getState()) === 'failed';
      if (final) {
        const client = await redisCommands(worker);
        await recordDeadLetter(client, job);
        await client.del(keys.blob(job.id as string));
      }
      options.onJobDone?.({
        job,
        outcome: 'failed',
        detail: `${final ? 'dead-lettered' : 'will retry'}: ${errorMessage(error)}`,
      });
    })().catch(() => {});
  });
  return worker;
}
