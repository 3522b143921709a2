import { invalidArgument } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';

/**
 * Detection metrics over scores where higher means "more likely synthetic" and label 1 means
 * synthetic. These follow DeepfakeBench's protocol: threshold-free AUC / AP / EER, plus the
 * operating points a trust-and-safety team acts on (TPR at a fixed FPR, accuracy at a threshold).
 */
export const METRIC_KEYS = [
  'auc',
  'ap',
  'eer',
  'accuracy',
  'tpr_at_1pct_fpr',
  'tpr_at_5pct_fpr',
  'tpr_at_threshold',
  'fpr_at_threshold',
] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];
export type MetricValues = Record<MetricKey, number>;

export interface LabeledScores {
  /** Scores of real (label 0) items. */
  real: readonly number[];
  /** Scores of synthetic (label 1) items. */
  fake: readonly number[];
}

function requireBothClasses(data: LabeledScores): void {
  if (data.real.length === 0) throw invalidArgument('real scores', 'at least one real item', data.real.length);
  if (data.fake.length === 0) throw invalidArgument('fake scores', 'at least one synthetic item', data.fake.length);
}

/** Area under the ROC curve: P(score_fake > score_real) + 0.5 P(tie) (Mann-Whitney U / n_real n_fake). */
export function rocAuc(data: LabeledScores): number {
  requireBothClasses(data);
  const all = [...data.real.map((s) => [s, 0] as const), ...data.fake.map((s) => [s, 1] as const)].sort((a, b) => a[0] - b[0]);
  let rankSumFake = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const averageRank = (i + 1 + j) / 2; // ranks i+1..j share their mean
    for (let k = i; k < j; k++) if (all[k][1] === 1) rankSumFake += averageRank;
    i = j;
  }
  const nf = data.fake.length;
  const nr = data.real.length;
  return (rankSumFake - (nf * (nf + 1)) / 2) / (nf * nr);
}

/** Average precision: sum over distinct thresholds of (recall step) × precision (scikit-learn's definition). */
export function averagePrecision(data: LabeledScores): number {
  return averagePrecisionFromRoc(rocCurve(data), data);
}

function averagePrecisionFromRoc(roc: readonly { fpr: number; tpr: number }[], data: LabeledScores): number {
  let ap = 0;
  for (let i = 1; i < roc.length; i++) {
    const tp = roc[i].tpr * data.fake.length;
    const fp = roc[i].fpr * data.real.length;
    if (tp + fp > 0) ap += (roc[i].tpr - roc[i - 1].tpr) * (tp / (tp + fp));
  }
  return ap;
}

/** ROC points (fpr, tpr) at every distinct threshold, from (0,0) to (1,1). */
export function rocCurve(data: LabeledScores): { fpr: number; tpr: number; threshold: number }[] {
  requireBothClasses(data);
  const all = [...data.real.map((s) => [s, 0] as const), ...data.fake.map((s) => [s, 1] as const)].sort((a, b) => b[0] - a[0]);
  const points = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) {
      if (all[j][1] === 1) tp++;
      else fp++;
      j++;
    }
    points.push({ fpr: fp / data.real.length, tpr: tp / data.fake.length, threshold: all[i][0] });
    i = j;
  }
  return points;
}

/** Equal error rate: where FPR equals FNR, linearly interpolated between ROC points. */
export function equalErrorRate(data: LabeledScores): number {
  return eerFromRoc(rocCurve(data));
}

function eerFromRoc(roc: readonly { fpr: number; tpr: number }[]): number {
  for (let i = 1; i < roc.length; i++) {
    const a = roc[i - 1];
    const b = roc[i];
    const da = a.fpr - (1 - a.tpr);
    const db = b.fpr - (1 - b.tpr);
    if (da <= 0 && db >= 0) {
      const t = db === da ? 0 : -da / (db - da);
      return a.fpr + t * (b.fpr - a.fpr);
    }
  }
  return 0.5;
}

/** Highest TPR reachable with FPR <= maxFpr (the ROC's step at that FPR). */
export function tprAtFpr(data: LabeledScores, maxFpr: number): number {
  let best = 0;
  for (const point of rocCurve(data)) if (point.fpr <= maxFpr + 1e-12) best = Math.max(best, point.tpr);
  return best;
}

/**
 * The decision threshold for a target false-positive rate: items with score > threshold are
 * flagged, and at most floor(fpr × n) of the given real scores exceed it.
 */
export function thresholdForFpr(realScores: readonly number[], fpr: number): number {
  if (realScores.length === 0) throw invalidArgument('real scores', 'at least one real item', 0);
  if (!(fpr >= 0 && fpr < 1)) throw invalidArgument('target FPR', 'a number in [0, 1)', fpr);
  const sorted = [...realScores].sort((a, b) => b - a);
  const allowed = Math.floor(fpr * sorted.length + 1e-9);
  return sorted[Math.min(allowed, sorted.length - 1)];
}

/**
 * Split-conformal version of thresholdForFpr for a calibration set: at most floor(fpr × (n + 1)) - 1
 * of the n calibration scores exceed the threshold, so a new real image from the same distribution
 * exceeds it with probability at most fpr (an exchangeability guarantee, not an estimate).
 */
export function conformalThresholdForFpr(realScores: readonly number[], fpr: number): number {
  if (realScores.length === 0) throw invalidArgument('real scores', 'at least one real item', 0);
  if (!(fpr > 0 && fpr < 1)) throw invalidArgument('target FPR', 'a number in (0, 1)', fpr);
  const sorted = [...realScores].sort((a, b) => b - a);
  const allowed = Math.floor(fpr * (sorted.length + 1) + 1e-9) - 1;
  // Fewer than 1/fpr - 1 calibration images cannot support the rate: flag nothing by score.
  if (allowed < 0) return 1;
  return sorted[Math.min(allowed, sorted.length - 1)];
}

export { binomialInterval } from '../core/binomial.js';

/** Every metric for one set of scores; `threshold` is the operating point for accuracy/TPR/FPR (score > threshold flags). */
export function computeMetrics(data: LabeledScores, threshold: number): MetricValues {
  // One ROC pass serves AUC (trapezoids = Mann-Whitney with ties counted half), EER and TPR at FPR.
  const roc = rocCurve(data);
  let auc = 0;
  for (let i = 1; i < roc.length; i++) auc += ((roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr)) / 2;
  const tprAt = (maxFpr: number): number => {
    let best = 0;
    for (const point of roc) if (point.fpr <= maxFpr + 1e-12) best = Math.max(best, point.tpr);
    return best;
  };
  const falsePositives = data.real.filter((s) => s > threshold).length;
  const truePositives = data.fake.filter((s) => s > threshold).length;
  return {
    auc,
    ap: averagePrecisionFromRoc(roc, data),
    eer: eerFromRoc(roc),
    accuracy: (truePositives + data.real.length - falsePositives) / (data.real.length + data.fake.length),
    tpr_at_1pct_fpr: tprAt(0.01),
    tpr_at_5pct_fpr: tprAt(0.05),
    tpr_at_threshold: truePositives / data.fake.length,
    fpr_at_threshold: falsePositives / data.real.length,
  };
}

/** A metric with its percentile bootstrap confidence interval. */
export interface MetricEstimate {
  value: number;
  /** [lower, upper] percentile bootstrap interval at the run's confidence level. */
  ci: [number, number];
}

export interface BootstrapOptions {
  /** Bootstrap resamples (each class resampled with replacement, sizes kept: stratified). */
  resamples: number;
  /** Confidence level of the interval, e.g. 0.95. */
  confidence: number;
  seed: number;
}

/** Metrics with stratified percentile-bootstrap CIs (real and fake resampled separately, so both classes are always present). */
export function bootstrapMetrics(data: LabeledScores, threshold: number, options: BootstrapOptions): Record<MetricKey, MetricEstimate> {
  if (!Number.isInteger(options.resamples) || options.resamples < 1) {
    throw invalidArgument('bootstrap resamples', 'a positive integer', options.resamples);
  }
  if (!(options.confidence > 0 && options.confidence < 1)) throw invalidArgument('confidence', 'a number in (0, 1)', options.confidence);
  const point = computeMetrics(data, threshold);
  const random = new SeededRandom(options.seed);
  const samples: Record<MetricKey, number[]> = Object.fromEntries(METRIC_KEYS.map((k) => [k, [] as number[]])) as Record<MetricKey, number[]>;
  const resample = (values: readonly number[]): number[] => values.map(() => values[random.int(values.length)]);
  for (let b = 0; b < options.resamples; b++) {
    const metrics = computeMetrics({ real: resample(data.real), fake: resample(data.fake) }, threshold);
    for (const key of METRIC_KEYS) samples[key].push(metrics[key]);
  }
  const alpha = (1 - options.confidence) / 2;
  return Object.fromEntries(
    METRIC_KEYS.map((key) => {
      const sorted = samples[key].sort((a, b) => a - b);
      return [key, { value: point[key], ci: [quantile(sorted, alpha), quantile(sorted, 1 - alpha)] }];
    }),
  ) as Record<MetricKey, MetricEstimate>;
}

/** Linear-interpolated quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}
