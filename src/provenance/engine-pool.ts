import { availableParallelism } from 'node:os';
import { createWorkerPool, type WorkerPool } from '../core/worker-pool.js';
import type { EngineReading, EngineSettings } from './engine.js';

/**
 * c2pa-rs validation is single-threaded WebAssembly with a fixed cost per file (signature and
 * certificate checks), so a folder run uses one c2pa-rs instance per worker thread and verifies
 * that many files at once. Everything else (summaries, disclosure, soft binding) stays on the main
 * thread. Reads that fetch a remote manifest stay on the main thread too (the fetch guard is there).
 */
export type EngineReader = (mime: string, bytes: Uint8Array, settings: EngineSettings) => Promise<EngineReading>;

export interface EnginePool {
  read: EngineReader;
  size: number;
  close(): Promise<void>;
}

/** Default worker count: the cores available, at most 4 (each worker holds a ~30 MB wasm instance). */
export function defaultEngineWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export function createEnginePool(size = defaultEngineWorkers()): EnginePool {
  const pool: WorkerPool<{ mime: string; bytes: Uint8Array; settings: EngineSettings }, EngineReading> = createWorkerPool(import.meta.url, 'engine-worker', size);
  return {
    size,
    read: (mime, bytes, settings) => pool.run({ mime, bytes, settings }),
    close: () => pool.close(),
  };
}
