import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { errorMessage, invalidArgument } from '../core/errors.js';
import { sha256Hex } from '../core/files.js';
import { redisCommands } from './redis.js';
import { recordDeadLetter } from './dead-letters.js';
import { QUEUE_NAME, keys, type JobData, type JobKind, type JobResult } from './protocol.js';

/** Processes one file's bytes (a screening record, a bias observation); input errors come back as `{ ok: false }`, anything thrown is retried. */
export type ProcessFile = (bytes: Buffer, fileName: string) => Promise<JobResult>;

/** Per job kind: builds the file processor for one options document (models load here, once). */
export type ProcessorLoaders = Record<JobKind, (options: unknown) => Promise<ProcessFile>>;

export interface WorkerOptions {
  connection: ConnectionOptions;
  loaders: ProcessorLoaders;
  /** Jobs processed at once by this process. */
  concurrency: number;
  /**
   * How long a job stays locked to this worker without a heartbeat. A worker that dies (SIGKILL,
   * machine lost) has its jobs handed to another worker after about this long.
   */
  lockDurationMs: number;
  /** Called after each job, for the command's log. */
  onJobDone?: (event: { job: Job<JobData, JobResult>; outcome: 'completed' | 'failed'; detail: string }) => void;
  /** Connection and internal errors (BullMQ reconnects by itself); without a listener they would crash the process. */
  onError: (error: Error) => void;
}

/** Stalls (a worker dying mid-job) tolerated before a job is failed: a file that kills workers stops at 2. */
export const MAX_STALLED_COUNT = 2;

/**
 * A BullMQ worker consuming vigil jobs. Processors are built once per options document and cached,
 * so models load once per process, however many jobs use them.
 */
export function startWorker(options: WorkerOptions): Worker<JobData, JobResult> {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw invalidArgument('--concurrency', 'a positive integer', options.concurrency);
  }
  if (!Number.isInteger(options.lockDurationMs) || options.lockDurationMs < 1000) {
    throw invalidArgument('--lock-duration', 'an integer of at least 1000 (milliseconds)', options.lockDurationMs);
  }
  const processors = new Map<string, Promise<ProcessFile>>();

  const worker: Worker<JobData, JobResult> = new Worker<JobData, JobResult>(
    QUEUE_NAME,
    async (job) => {
      const { kind, sha256, fileName, optionsHash } = job.data;
      const client = await redisCommands(worker);
      const bytes = await client.getBuffer(keys.blob(job.id as string));
      if (bytes === null) {
        throw new UnrecoverableError(`the bytes of ${fileName} are no longer in Redis (expired or deleted); run the enqueuing command again`);
      }
      if (sha256Hex(bytes) !== sha256) throw new UnrecoverableError(`the bytes stored for ${fileName} do not match its sha256`);
      let processor = processors.get(optionsHash);
      if (!processor) {
        processor = (async () => {
          const text = await client.get(keys.options(optionsHash));
          if (text === null) throw new UnrecoverableError(`the options document ${optionsHash} is no longer in Redis`);
          return options.loaders[kind](JSON.parse(text));
        })();
        processors.set(optionsHash, processor);
        // A failed load (e.g. Redis hiccup) is retried by the next job instead of being cached.
        processor.catch(() => processors.delete(optionsHash));
      }
      return (await processor)(bytes, fileName);
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
  worker.on('completed', (job, result) => {
    // The bytes are dropped only after the job is marked complete: a worker dying before that
    // leaves them for the retry.
    void redisCommands(worker).then((client) => client.del(keys.blob(job.id as string))).catch(() => {});
    options.onJobDone?.({ job, outcome: 'completed', detail: result.ok ? `${job.data.kind} done` : `input error: ${result.error}` });
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
