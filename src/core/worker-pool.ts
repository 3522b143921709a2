import { Worker } from 'node:worker_threads';
import { errorMessage, invalidArgument } from './errors.js';

/**
 * A small pool of worker threads answering one request at a time each, least-loaded first. The
 * worker module posts `{ id, result }` or `{ id, error }` for every `{ id, request }` it receives
 * (see `serveWorkerRequests`). Under tsx (running the .ts sources) the worker is started through
 * an eval stub that registers tsx in it first, since workers do not inherit loader hooks.
 */

export interface WorkerPool<Request, Result> {
  run(request: Request): Promise<Result>;
  readonly size: number;
  close(): Promise<void>;
}

/** `moduleUrl` is the import.meta.url of the module next to the worker; `name` the worker file without extension. */
function startWorker(moduleUrl: string, name: string): Worker {
  if (moduleUrl.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = new URL(`./${name}.ts`, moduleUrl).href;
    return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
  }
  return new Worker(new URL(`./${name}.js`, moduleUrl));
}

export interface WorkerPoolOptions {
  /** The error a request's failure (the worker's message) becomes; default a plain Error. */
  error?: (message: string) => Error;
}

export function createWorkerPool<Request, Result>(moduleUrl: string, name: string, size: number, options: WorkerPoolOptions = {}): WorkerPool<Request, Result> {
  const failure = options.error ?? ((message: string) => new Error(message));
  if (!Number.isInteger(size) || size < 1) throw invalidArgument('workers', 'a positive integer', size);
  /** Live workers and their requests in flight; a worker that dies leaves it (and is replaced). */
  const load = new Map<Worker, number>();
  const pending = new Map<number, { resolve: (result: Result) => void; reject: (error: Error) => void; worker: Worker }>();
  let nextId = 0;
  let closing = false;

  /**
   * A worker that crashed (an uncaught error, an exit, running out of memory) fails only the
   * requests it held; a fresh one takes its place, so the rest of a batch goes on instead of
   * waiting forever on a dead thread.
   */
  const died = (worker: Worker, why: string): void => {
    if (!load.delete(worker)) return; // 'error' is followed by 'exit': handle the death once
    for (const [id, job] of pending) {
      if (job.worker !== worker) continue;
      pending.delete(id);
      job.reject(new Error(`worker ${name} ${why}`));
    }
    if (!closing) spawn();
  };

  const spawn = (): void => {
    const worker = startWorker(moduleUrl, name);
    load.set(worker, 0);
    worker.unref();
    worker.on('message', (message: { id: number; result?: Result; error?: string }) => {
      const job = pending.get(message.id);
      if (!job) return;
      pending.delete(message.id);
      load.set(worker, load.get(worker)! - 1);
      if (message.error !== undefined) job.reject(failure(message.error));
      else job.resolve(message.result as Result);
    });
    worker.on('error', (error) => died(worker, `failed: ${error.message}`));
    worker.on('exit', (code) => died(worker, `exited (code ${code})`));
  };
  for (let i = 0; i < size; i++) spawn();

  return {
    size,
    run(request) {
      const worker = [...load.keys()].reduce((a, b) => (load.get(b)! < load.get(a)! ? b : a));
      load.set(worker, load.get(worker)! + 1);
      const id = nextId++;
      return new Promise<Result>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker });
        worker.ref();
        worker.postMessage({ id, request });
      }).finally(() => {
        if (load.get(worker) === 0) worker.unref();
      });
    },
    async close() {
      closing = true;
      await Promise.all([...load.keys()].map((worker) => worker.terminate()));
    },
  };
}

/**
 * The worker side: answers each request with `handle`'s result, or its error message. `transfer`
 * names buffers of the result to move rather than copy (e.g. a large spectrum).
 */
export function serveWorkerRequests<Request, Result>(
  port: { on(event: 'message', listener: (message: { id: number; request: Request }) => void): unknown; postMessage(message: unknown, transfer?: readonly Transferable[]): void },
  handle: (request: Request) => Promise<Result>,
  transfer: (result: Result) => Transferable[] = () => [],
): void {
  port.on('message', ({ id, request }) => {
    handle(request).then(
      (result) => port.postMessage({ id, result }, transfer(result)),
      (error: unknown) => port.postMessage({ id, error: errorMessage(error) }),
    );
  });
}
