import { VigilInputError } from '../core/errors.js';
import { createWorkerPool } from '../core/worker-pool.js';
import type { FastAnalysis, FastRequest } from './fast-path.js';

/**
 * Worker threads for the model-free fast path (decode + FFT + metadata), so spectral screening
 * uses every core: the FFT work is plain JavaScript and would otherwise run on the main thread only.
 * Built on core's worker pool (least-loaded worker first); a file the fast path cannot analyse is
 * an input error of that file.
 */
export interface FastPool {
  analyze(bytes: Uint8Array, name: string, request: FastRequest): Promise<FastAnalysis>;
  close(): Promise<void>;
}

/** One request to fast-worker.ts. */
export interface FastJob {
  bytes: Uint8Array;
  name: string;
  request: FastRequest;
}

export function createFastPool(size: number): FastPool {
  const pool = createWorkerPool<FastJob, FastAnalysis>(import.meta.url, 'fast-worker', size, { error: (message) => new VigilInputError(message) });
  return {
    // The bytes are copied (the caller keeps them for the model signals).
    analyze: (bytes, name, request) => pool.run({ bytes, name, request }),
    close: () => pool.close(),
  };
}
