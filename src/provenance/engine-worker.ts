import { parentPort } from 'node:worker_threads';
import { serveWorkerRequests } from '../core/worker-pool.js';
import { readAsset, type EngineReading, type EngineSettings } from './engine.js';

/** A worker thread with its own c2pa-rs instance: reads and validates manifest stores for engine-pool.ts. */
if (parentPort) {
  serveWorkerRequests<{ mime: string; bytes: Uint8Array; settings: EngineSettings }, EngineReading>(parentPort, ({ mime, bytes, settings }) => readAsset(mime, bytes, settings));
}
