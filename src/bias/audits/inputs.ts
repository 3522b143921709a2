/** Inputs that model audits share: probe rows joined with what the model produced for them. */
import type { ProbeRow } from '../../probes/index.js';

export interface EmbeddedImage {
  row: ProbeRow;
  /** L2-normalised CLIP image embedding. */
  embedding: Float32Array;
}

/** An image the model could not process: recorded in the result, left out of the metrics. */
export interface FailedImage {
  file: string;
  error: string;
}
