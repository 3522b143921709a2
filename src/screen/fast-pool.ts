import { Worker } from 'node:worker_threads';
import { VigilInputError, invalidArgument } from '../core/errors.js';
import type { FastAnalysis, FastRequest } from './fast-path.js';

/**
 * Worker threads for the model-free fast path (decode + FFT + metadata), so spectral screening
 * uses every core: the FFT work is plain JavaScript and would otherwise run on the main thread only.
 */
export interface FastPool {
  analyze(bytes: Uint8Array, name: string, request: FastRequest): Promise<FastAnalysis>;
  close(): Promise<void>;
}

type Pending = { resolve: (analysis: FastAnalysis) => void; reject: (error: Error) => void; worker: Worker };

/**
 * The worker entry: the compiled .js next to this module, or under tsx (running the .ts sources)
 * an eval stub that registers tsx in the worker first, since workers do not inherit loader hooks.
 */
function startWorker(): Worker {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./fast-worker.ts', self).href;
    return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
  }
  return new Worker(new URL('./fast-worker.js', self));
}

export function createFastPool(size: number): FastPool {
  if (!Number.isInteger(size) || size < 1) throw invalidArgument('workers', 'a positive integer', size);
  const workers = Array.from({ length: size }, startWorker);
  const load = new Map<Worker, number>(workers.map((w) => [w, 0]));
  const pending = new Map<number, Pending>();
  let nextId = 0;
  for (const worker of workers) {
    worker.on('message', (message: { id: number; analysis?: FastAnalysis; error?: string }) => {
      const job = pending.get(message.id);
      if (!job) return;
      pending.delete(message.id);
      load.set(worker, load.get(worker)! - 1);
      if (message.error !== undefined) job.reject(new VigilInputError(message.error));
      else job.resolve(message.analysis!);
    });
    worker.on('error', (error) => {
      for (const [id, job] of pending) {
        if (job.worker !== worker) continue;
        pending.delete(id);
        job.reject(new Error(`screening worker failed: ${error.message}`));
      }
    });
  }
  return {
    analyze(bytes, name, request) {
      // Least-loaded worker; the bytes are copied (the caller keeps them for the model signals).
      const worker = workers.reduce((a, b) => (load.get(b)! < load.get(a)! ? b : a));
      load.set(worker, load.get(worker)! + 1);
      const id = nextId++;
      return new Promise<FastAnalysis>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker });
        worker.postMessage({ id, bytes, name, request });
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
