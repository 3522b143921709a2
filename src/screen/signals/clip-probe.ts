import { applyPlatt, decisionValue, type LogisticModel, type PlattCalibration } from '../logistic.js';
import type { MetricValues } from '../metrics.js';
import type { SignalMeta, SignalScore } from './types.js';

export const clipProbeMeta: SignalMeta = {
  id: 'clip-probe',
  title: 'CLIP linear probe',
  description:
    'Logistic regression on CLIP image embeddings (UniversalFakeDetect, Ojha et al. 2023): the embedding space ' +
    'separates generated from captured images and tends to transfer across generators. Only as good as the ' +
    'CLIP model and the labeled images it was trained on.',
  requires: 'a CLIP model folder and a probe trained with the same CLIP model (vigil screen train)',
  needs: ['clip-embedding', 'trained-model'],
};

/** The trained CLIP probe (stored in the probe file). */
export interface ClipProbe {
  /** sha256 of the CLIP model the probe was trained on; a probe is only valid with that model. */
  clipModelSha256: string;
  /** The CLIP folder used for training (relative to the vigil package when inside it). */
  clipModelDir: string;
  embeddingSize: number;
  /** Standardisation + L2-regularised logistic regression over the embedding. */
  model: LogisticModel;
  calibration: PlattCalibration;
  /** Mean out-of-fold log-loss for every C tried; the chosen C is model.c. */
  cGrid: { c: number; logLoss: number }[];
  /** Out-of-fold metrics of the probe on its training set (threshold 0.5). */
  validation: MetricValues;
}

/** CLIP probe score (pure): raw = the probe's log-odds for the embedding; score = calibrated probability. */
export function scoreClipProbe(embedding: Float32Array, probe: ClipProbe): SignalScore {
  const raw = decisionValue(probe.model, Array.from(embedding));
  return { raw, score: applyPlatt(probe.calibration, raw) };
}
