import type { Command } from 'commander';
import { errorMessage, invalidArgument, VigilInputError } from '../../core/errors.js';
import { readDeadLetters } from '../../queue/dead-letters.js';
import { parseQueueUrl, redactQueueUrl } from '../../queue/connection.js';
import { queueSecretFromEnv } from '../../queue/integrity.js';
import { printable } from '../../core/printable.js';
import { QUEUE_NAME } from '../../queue/protocol.js';
import { redisCommands } from '../../queue/redis.js';
import { DEFAULT_JOB_LIMITS, startWorker } from '../../queue/worker.js';
import { isSignalId, type SignalId } from '../../screen/signals/types.js';
import { DEVICES, type Device } from '../../vision/types.js';
import { loadApiKeys } from '../../service/auth.js';
import { resolveLimits, DEFAULT_LIMITS } from '../../service/limits.js';
import { action, commaList, printJson } from '../run.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function integerOption(name: string, min = 0): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isSafeInteger(number) || number < min) throw invalidArgument(name, `an integer ≥ ${min}`, value);
    return number;
  };
}

export function parseSignals(value: string | undefined): SignalId[] | undefined {
  if (value === undefined) return undefined;
  return commaList(value).map((id) => {
    if (!isSignalId(id)) throw invalidArgument('--signals', 'a comma-separated list of spectral, clip-probe, mae-recon, metadata', id);
    return id;
  });
}

export function parseDevice(value: string): Device {
  if (!(DEVICES as readonly string[]).includes(value)) throw invalidArgument('--device', `one of ${DEVICES.join(', ')}`, value);
  return value as Device;
}

interface ServeOptions {
  host: string;
  port: number;
  apiKeysFile?: string;
  maxBodyMb: number;
  maxPixels: number;
  timeoutMs: number;
  maxInFlight: number;
  maxQueued: number;
  retryAfter: number;
  drainTimeoutMs: number;
  bodyTimeoutMs: number;
  minBodyRate: number;
  maxPerKey: number;
  probe?: string;
  signals?: string;
  device: Device;
  trustAnchors: string[];
  log?: boolean;
}

interface WorkerCliOptions {
  queue: string;
  cache: boolean;
  cacheDir?: string;
  concurrency: number;
  lockDuration: number;
  allowRoot: string[];
  maxJobMb: number;
  jobTimeoutMs: number;
  quiet?: boolean;
}

/** A port in use or not ours to take, said as what to do about it (not a stack trace). */
function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new VigilInputError(`Port ${port} on ${host} is already in use (another vigil serve or another program listens there): stop it, or choose another port with --port <n> (--port 0 takes any free port)`, { subject: '--port', cause: error });
  }
  if (code === 'EACCES') {
    return new VigilInputError(`Not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges): choose another port with --port <n>`, { subject: '--port', cause: error });
  }
  if (code === 'EADDRNOTAVAIL') {
    return new VigilInputError(`Cannot listen on ${host}: no network interface of this machine has that address (--host): ${errorMessage(error)}`, { subject: '--host', cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve upload screening and C2PA verification over HTTP (POST /v1/screen, /v1/provenance/verify)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', integerOption('--port'), 8080)
    .option('--api-keys-file <file>', 'API keys, one per line (default: VIGIL_API_KEYS, comma-separated)')
    .option('--max-body-mb <n>', 'largest upload in MiB (413 beyond)', integerOption('--max-body-mb', 1), DEFAULT_LIMITS.maxBodyBytes / 2 ** 20)
    .option('--max-pixels <n>', 'largest image in pixels, read from its header (413 beyond)', integerOption('--max-pixels', 1), DEFAULT_LIMITS.maxPixels)
    .option('--timeout-ms <ms>', 'per-request deadline, queue wait included (504 beyond)', integerOption('--timeout-ms', 1), DEFAULT_LIMITS.requestTimeoutMs)
    .option('--max-in-flight <n>', 'inference calls running at once', integerOption('--max-in-flight', 1), DEFAULT_LIMITS.maxInFlight)
    .option('--max-queued <n>', 'requests waiting for a slot before 503 + Retry-After', integerOption('--max-queued'), DEFAULT_LIMITS.maxQueued)
    .option('--retry-after <s>', 'Retry-After seconds sent with 503', integerOption('--retry-after', 1), DEFAULT_LIMITS.retryAfterSeconds)
    .option('--drain-timeout-ms <ms>', 'on SIGTERM/SIGINT, longest wait for in-flight requests', integerOption('--drain-timeout-ms', 1), DEFAULT_LIMITS.drainTimeoutMs)
    .option('--body-timeout-ms <ms>', 'longest a client may take to send its body (408 beyond)', integerOption('--body-timeout-ms', 1), DEFAULT_LIMITS.bodyTimeoutMs)
    .option('--min-body-rate <bytes/s>', 'slowest accepted body transfer after a 2 s grace (408 below)', integerOption('--min-body-rate'), DEFAULT_LIMITS.minBodyBytesPerSecond)
    .option('--max-per-key <n>', 'inference requests in progress per API key (429 beyond)', integerOption('--max-per-key', 1), DEFAULT_LIMITS.maxPerKey)
    .option('--probe <file>', 'screening probe from `vigil screen train` (default: the bundled probe)')
    .option('--signals <list>', 'screening signals to run (default: all the probe was trained with)')
    .option('--device <device>', `execution provider: ${DEVICES.join(', ')}`, parseDevice, 'cpu' as Device)
    .option('--trust-anchors <name=file.pem>', 'a named trust list for verification (repeatable)', collect, [])
    .option('--log', 'one JSON log line per request on stdout')
    .action(
      action(async (options: ServeOptions) => {
        const limits = resolveLimits({
          maxBodyBytes: options.maxBodyMb * 2 ** 20,
          maxPixels: options.maxPixels,
          requestTimeoutMs: options.timeoutMs,
          maxInFlight: options.maxInFlight,
          maxQueued: options.maxQueued,
          retryAfterSeconds: options.retryAfter,
          drainTimeoutMs: options.drainTimeoutMs,
          bodyTimeoutMs: options.bodyTimeoutMs,
          minBodyBytesPerSecond: options.minBodyRate,
          maxPerKey: options.maxPerKey,
        });
        const keys = await loadApiKeys({ apiKeysFile: options.apiKeysFile });
        // fastify, the models and the C2PA engine load only when the service starts.
        const { loadEngines } = await import('../../service/engines.js');
        const { createService } = await import('../../service/server.js');
        const engines = loadEngines({
          screener: { probePath: options.probe, signals: parseSignals(options.signals), device: options.device },
          trustAnchors: options.trustAnchors,
        });
        const service = createService({ limits, keys, engines, logger: options.log ? { level: 'info' } : false });
        let address: string;
        try {
          address = await service.app.listen({ host: options.host, port: options.port });
        } catch (error) {
          await service.app.close().catch(() => undefined);
          await engines.then((loaded) => loaded.release()).catch(() => undefined);
          throw listenError(error, options.host, options.port);
        }
        process.stderr.write(`vigil serve: listening on ${address} (${keys.size} API key(s)); loading models…\n`);
        try {
          await service.ready;
        } catch (error) {
          await service.app.close();
          throw error;
        }
        process.stderr.write(`vigil serve: ready\n`);
        const signal = await new Promise<NodeJS.Signals>((resolve) => {
          process.once('SIGTERM', () => resolve('SIGTERM'));
          process.once('SIGINT', () => resolve('SIGINT'));
        });
        process.stderr.write(`vigil serve: ${signal}, draining ${service.gate.admitted} request(s)…\n`);
        await service.drain();
        await (await engines).release();
        process.stderr.write('vigil serve: stopped\n');
      }),
    );

  program
    .command('worker')
    .description('Consume queued screening and bias jobs from Redis (run any number, on any machines)')
    .requiredOption('--queue <url>', 'Redis URL, e.g. redis://127.0.0.1:6379')
    .option('--concurrency <n>', 'jobs processed at once by this worker', integerOption('--concurrency', 1), 1)
    .option('--lock-duration <ms>', "how long a dead worker's jobs stay locked before another worker takes them", integerOption('--lock-duration', 1000), 30_000)
    .option('--cache-dir <dir>', 'vision observation cache folder (default: $VIGIL_CACHE_DIR or .vigil-cache)')
    .option('--no-cache', 'neither read nor write the observation cache')
    .option('--allow-root <dir>', 'a folder jobs may name probes and models in (repeatable; default: the vigil package and the working folder)', collect, [])
    .option('--max-job-mb <n>', 'largest input a job may carry, in MiB', integerOption('--max-job-mb', 1), DEFAULT_JOB_LIMITS.maxJobBytes / 2 ** 20)
    .option('--job-timeout-ms <ms>', 'longest a job may run before it is dead-lettered', integerOption('--job-timeout-ms', 1), DEFAULT_JOB_LIMITS.jobTimeoutMs)
    .option('--quiet', 'no per-job log lines on stderr')
    .action(
      action(async (options: WorkerCliOptions) => {
        const displayUrl = redactQueueUrl(options.queue);
        const secret = queueSecretFromEnv();
        // The processors (models, screener) load only when a worker starts.
        const { createProcessorLoaders, defaultAllowRoots } = await import('../../queue/processors.js');
        const allowRoots = options.allowRoot.length > 0 ? options.allowRoot : defaultAllowRoots();
        const worker = startWorker({
          connection: parseQueueUrl(options.queue),
          loaders: createProcessorLoaders({ cacheDir: options.cache ? options.cacheDir : false, allowRoots }),
          secret,
          limits: { maxJobBytes: options.maxJobMb * 2 ** 20, jobTimeoutMs: options.jobTimeoutMs },
          concurrency: options.concurrency,
          lockDurationMs: options.lockDuration,
          onError: (error) => process.stderr.write(`vigil worker: ${printable(error.message)}\n`),
          onJobDone: options.quiet
            ? undefined
            : ({ job, outcome, detail }) =>
                process.stderr.write(`vigil worker: ${outcome} ${printable((job.data as { fileName?: unknown }).fileName ?? job.id)} (${printable(detail)})\n`),
        });
        await worker.waitUntilReady();
        process.stderr.write(
          `vigil worker: consuming ${QUEUE_NAME} on ${displayUrl} (namespace ${secret.namespace}, concurrency ${options.concurrency}, allowed roots ${printable(allowRoots.join(', '))})\n`,
        );
        const signal = await new Promise<NodeJS.Signals>((resolve) => {
          process.once('SIGTERM', () => resolve('SIGTERM'));
          process.once('SIGINT', () => resolve('SIGINT'));
        });
        process.stderr.write(`vigil worker: ${signal}, finishing active jobs…\n`);
        await worker.close();
      }),
    );

  program
    .command('queue-status')
    .description('Job counts, connected workers and the newest dead letters of a Redis queue')
    .requiredOption('--queue <url>', 'Redis URL, e.g. redis://127.0.0.1:6379')
    .option('--dead-letters <n>', 'newest dead letters to show', integerOption('--dead-letters'), 20)
    .option('--json', 'print JSON on stdout')
    .action(
      action(async (options: { queue: string; deadLetters: number; json?: boolean }) => {
        const { Queue } = await import('bullmq');
        const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(options.queue) });
        try {
          const [counts, workers, deadLetters] = await Promise.all([
            queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed'),
            queue.getWorkersCount(),
            redisCommands(queue).then((client) => readDeadLetters(client, options.deadLetters)),
          ]);
          const status = { queue: QUEUE_NAME, url: redactQueueUrl(options.queue), counts, workers, deadLetters };
          if (options.json) printJson(status);
          else {
            console.log(`${status.queue} on ${status.url}: ${workers} worker(s)`);
            console.log(Object.entries(counts).map(([state, n]) => `${state} ${n}`).join(', '));
            console.log(`dead letters: ${deadLetters.total}`);
            for (const letter of deadLetters.newest) {
              console.log(`  ${printable(letter.failedAt)} ${printable(letter.fileName)}: ${printable(letter.failedReason)} (${letter.attemptsMade} attempts)`);
            }
          }
        } finally {
          await queue.close();
        }
      }),
    );
}
