import { invalidArgument } from '../core/errors.js';
import { quantile } from './metrics.js';
import type { FeatureSignalId } from './signals/index.js';

/**
 * What the probe was trained on, to tell when an input lies outside it. A learned signal's score
 * on such an input is an extrapolation (a photograph of the moon, a film frame, a 6000 px camera
 * original against a probe trained on 256 px crops): the screener then answers "uncertain" with
 * reason out-of-distribution instead of guessing. Declared provenance (C2PA, IPTC) is unaffected.
 */
export interface DistributionModel {
  /** Pixel-feature signals whose features describe the content, concatenated in this order. */
  signals: FeatureSignalId[];
  /** Standardisation of the concatenated features over the training images. */
  mean: number[];
  scale: number[];
  /** Distance (root-mean-square z-score, each clipped at ±CLIP) above which an input is out of distribution. */
  threshold: number;
  /** The quantile of the reference images' distances the threshold was set at, and which images those were. */
  quantile: number;
  reference: 'calibration' | 'training';
  /** Range of the training images' shorter and longer sides, in pixels. */
  minSide: number;
  maxSide: number;
  /** Longer sides up to this multiple of maxSide still count as in range (the signals analyse a centre region). */
  sideSlack: number;
}

export interface DistributionCheck {
  inDistribution: boolean;
  /** Feature-space distance to the training set (null: a pixel signal could not analyse the image), and the threshold it is compared with. */
  distance: number | null;
  threshold: number;
  /** Why the input is out of distribution (empty when it is not). */
  why: string[];
}

const CLIP = 20;
export const DISTRIBUTION_QUANTILE = 0.995;
const SIDE_SLACK = 8;

/** Root-mean-square clipped z-score of one feature row. */
export function featureDistance(model: Pick<DistributionModel, 'mean' | 'scale'>, row: readonly number[]): number {
  if (row.length !== model.mean.length) throw invalidArgument('distribution features', `${model.mean.length} values`, row.length);
  let sum = 0;
  for (let j = 0; j < row.length; j++) {
    const z = Math.min(CLIP, Math.abs((row[j] - model.mean[j]) / model.scale[j]));
    sum += z * z;
  }
  return Math.sqrt(sum / row.length);
}

/**
 * Fits the standardisation on the training rows and sets the distance threshold at the
 * DISTRIBUTION_QUANTILE of the reference rows (calibration images when there are some: images the
 * standardisation never saw; else the training rows themselves).
 */
export function fitDistribution(
  signals: FeatureSignalId[],
  training: readonly (readonly number[])[],
  reference: readonly (readonly number[])[] | null,
  sides: readonly { width: number; height: number }[],
): DistributionModel {
  if (training.length < 2) throw invalidArgument('training images', 'at least 2 for the distribution model', training.length);
  const d = training[0].length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const row of training) for (let j = 0; j < d; j++) mean[j] += row[j] / training.length;
  for (const row of training) for (let j = 0; j < d; j++) scale[j] += (row[j] - mean[j]) ** 2 / training.length;
  for (let j = 0; j < d; j++) scale[j] = scale[j] > 1e-12 ? Math.sqrt(scale[j]) : 1;
  const rows = reference && reference.length > 0 ? reference : training;
  const distances = rows.map((row) => featureDistance({ mean, scale }, row)).sort((a, b) => a - b);
  return {
    signals,
    mean,
    scale,
    threshold: quantile(distances, DISTRIBUTION_QUANTILE),
    quantile: DISTRIBUTION_QUANTILE,
    reference: reference && reference.length > 0 ? 'calibration' : 'training',
    minSide: Math.min(...sides.map((s) => Math.min(s.width, s.height))),
    maxSide: Math.max(...sides.map((s) => Math.max(s.width, s.height))),
    sideSlack: SIDE_SLACK,
  };
}

/** Whether one image lies inside the training distribution (pure). */
export function checkDistribution(model: DistributionModel, features: readonly number[], width: number, height: number): DistributionCheck {
  const distance = featureDistance(model, features);
  const why: string[] = [];
  if (distance > model.threshold) {
    why.push(`its frequency and residual statistics lie far from the training images (distance ${distance.toFixed(2)} > ${model.threshold.toFixed(2)}, the ${model.quantile * 100}th percentile of ${model.reference} images)`);
  }
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  if (short < model.minSide) why.push(`it is smaller (${width}×${height}) than any training image (shorter side ${model.minSide} px)`);
  if (long > model.maxSide * model.sideSlack) why.push(`it is far larger (${width}×${height}) than the training images (longer side up to ${model.maxSide} px)`);
  return { inDistribution: why.length === 0, distance, threshold: model.threshold, why };
}
