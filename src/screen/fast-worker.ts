import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../core/errors.js';
import { analyzeFast, type FastRequest } from './fast-path.js';

/** Worker side of the fast-path pool: one message in (id, bytes, name, request), one out. */
interface Job {
  id: number;
  bytes: Uint8Array;
  name: string;
  request: FastRequest;
}

parentPort!.on('message', (job: Job) => {
  analyzeFast(job.bytes, job.name, job.request).then(
    (analysis) => {
      const spectral = analysis.features.spectral;
      const transfer = spectral && 'extraction' in spectral && spectral.extraction.spectrum ? [spectral.extraction.spectrum.logPower.buffer as ArrayBuffer] : [];
      parentPort!.postMessage({ id: job.id, analysis }, transfer);
    },
    (error: unknown) => parentPort!.postMessage({ id: job.id, error: errorMessage(error) }),
  );
});
