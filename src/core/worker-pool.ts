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
  const workers = Array.from({ length: size }, () => startWorker(moduleUrl, name));
  const load = new Map<Worker, number>(workers.map((worker) => [worker, 0]));
  const pending = new Map<number, { resolve: (result: Result) => void; reject: (error: Error) => void; worker: Worker }>();
  let nextId = 0;
  for (const worker of workers) {
    worker.unref();
    worker.on('message', (message: { id: number; result?: Result; error?: string }) => {
      const job = pending.get(message.id);
      if (!job) return;
      pending.delete(message.id);
      load.set(worker, load.get(worker)! - 1);
      if (message.error !== undefined) job.reject(failure(message.error));
      else job.resolve(message.result as Result);
    });
    worker.on('error', (error) => {
      for (const [id, job] of pending) {
        if (job.worker !== worker) continue;
        pending.delete(id);
        job.reject(new Error(`worker ${name} failed: ${error.message}`));
      }
    });
  }
  return {
    size,
    run(request) {
      const worker = workers.reduce((a, b) => (load.get(b)! < load.get(a)! ? b : a));
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
      await Promise.all(workers.map((worker) => worker.terminate()));
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
