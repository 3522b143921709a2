import { parentPort } from 'node:worker_threads';
import { serveWorkerRequests } from '../core/worker-pool.js';
import { analyzeFast, type FastAnalysis } from './fast-path.js';
import type { FastJob } from './fast-pool.js';

/** Worker side of the fast-path pool (core's worker pool protocol): one request in, one analysis out. */
if (parentPort) {
  serveWorkerRequests<FastJob, FastAnalysis>(
    parentPort,
    ({ bytes, name, request }) => analyzeFast(bytes, name, request),
    // The spectrum is moved, not copied, back to the main thread.
    (analysis) => {
      const spectral = analysis.features.spectral;
      return spectral && 'extraction' in spectral && spectral.extraction.spectrum ? [spectral.extraction.spectrum.logPower.buffer as ArrayBuffer] : [];
    },
  );
}
