import { invalidArgument } from '../core/errors.js';
import { crossValidatedDecisions, fitLogistic, logit, predictProbability, sigmoid, stratifiedFolds, type LogisticModel } from './logistic.js';
import { conformalThresholdForFpr, thresholdForFpr } from './metrics.js';
import { SIGNAL_IDS, type SignalId } from './signals/types.js';

/**
 * Fusion: a logistic combination of the per-signal log-odds into P(synthetic) (Platt-style
 * calibration of the stacked signals). A model is fitted for every non-empty subset of the trained
 * signals, so a missing signal (not requested, model absent, image too small, no metadata) never
 * means imputing a value: the model for exactly the signals that ran is used.
 */
export const VERDICTS = ['likely-synthetic', 'uncertain', 'no-evidence'] as const;
/**
 * `likely-synthetic`: P(synthetic) above the threshold fixed for the target FPR (or a declaration).
 * `uncertain`: above the looser threshold. `no-evidence`: the signals found nothing; this is never a
 * statement that the image is authentic.
 */
export type Verdict = (typeof VERDICTS)[number];

export interface FusionThresholds {
  /** P(synthetic) above which the verdict is likely-synthetic; set for `targetFpr` on held-out real images. */
  likelySynthetic: number;
  /** P(synthetic) above which the verdict is uncertain; set for `uncertainFpr`. */
  uncertain: number;
}

export interface FusionSubsetModel {
  /** The signals this model combines, in SIGNAL_IDS order. */
  signals: SignalId[];
  model: LogisticModel;
  thresholds: FusionThresholds;
}

export interface FusionModel {
  /** Target false-positive rate of likely-synthetic on real images, and of uncertain-or-worse. */
  targetFpr: number;
  uncertainFpr: number;
  subsets: FusionSubsetModel[];
}

export function subsetKey(signals: readonly SignalId[]): string {
  return SIGNAL_IDS.filter((id) => signals.includes(id)).join('+');
}

/** Every non-empty subset of the given signals, in a stable order. */
export function signalSubsets(signals: readonly SignalId[]): SignalId[][] {
  const ordered = SIGNAL_IDS.filter((id) => signals.includes(id));
  const subsets: SignalId[][] = [];
  for (let mask = 1; mask < 1 << ordered.length; mask++) subsets.push(ordered.filter((_, i) => mask & (1 << i)));
  return subsets;
}

/** Fusion's own regularisation: few features, so a moderate fixed C. */
const FUSION_C = 1;

export interface FusionTrainingOptions {
  targetFpr: number;
  uncertainFpr: number;
  folds: number;
  seed: number;
  /** Fold of each row (group-aware); default stratified by seed. */
  assignment?: readonly number[];
}

/**
 * Fits the fusion from held-out per-signal scores (out-of-fold calibrated probabilities, one map per
 * item). Thresholds come from cross-fitted fused scores of the real items, so they are set on
 * scores the fusion did not see in training.
 * Returns the model and the cross-fitted fused scores of the full signal set.
 */
export function trainFusion(
  scores: readonly Partial<Record<SignalId, number>>[],
  y: readonly number[],
  signals: readonly SignalId[],
  options: FusionTrainingOptions,
): { fusion: FusionModel; heldOutFused: number[] } {
  if (!(options.targetFpr > 0 && options.targetFpr < 1)) throw invalidArgument('target FPR', 'a number in (0, 1)', options.targetFpr);
  if (!(options.uncertainFpr >= options.targetFpr && options.uncertainFpr < 1)) {
    throw invalidArgument('uncertain FPR', `a number in [target FPR ${options.targetFpr}, 1)`, options.uncertainFpr);
  }
  const folds = options.assignment ?? stratifiedFolds(y, options.folds, options.seed);
  const subsets: FusionSubsetModel[] = [];
  let heldOutFused: number[] = [];
  for (const subset of signalSubsets(signals)) {
    const x = scores.map((row) => subset.map((id) => logit(row[id] ?? NaN)));
    const data = { x, y };
    const crossFitted = crossValidatedDecisions(data, FUSION_C, folds).map(sigmoid);
    const realScores = crossFitted.filter((_, i) => y[i] === 0);
    subsets.push({
      signals: subset,
      model: fitLogistic(data, FUSION_C),
      thresholds: {
        likelySynthetic: thresholdForFpr(realScores, options.targetFpr),
        uncertain: thresholdForFpr(realScores, options.uncertainFpr),
      },
    });
    if (subset.length === signals.length) heldOutFused = crossFitted;
  }
  return { fusion: { targetFpr: options.targetFpr, uncertainFpr: options.uncertainFpr, subsets }, heldOutFused };
}

/**
 * Thresholds set on a calibration set: real images no model of the probe trained on, scored by the
 * final models. Each subset's thresholds come from that subset's fused scores of those images.
 */
export function calibrateThresholds(fusion: FusionModel, realScores: readonly Partial<Record<SignalId, number>>[]): FusionModel {
  if (realScores.length === 0) throw invalidArgument('calibration images', 'at least one real image', 0);
  return {
    ...fusion,
    subsets: fusion.subsets.map((subset) => {
      const fused = realScores.map((row) => predictProbability(subset.model, subset.signals.map((id) => logit(row[id] ?? NaN))));
      return {
        ...subset,
        thresholds: { likelySynthetic: conformalThresholdForFpr(fused, fusion.targetFpr), uncertain: conformalThresholdForFpr(fused, fusion.uncertainFpr) },
      };
    }),
  };
}

export interface FusedScore {
  /** P(synthetic) from the signals that ran. */
  probability: number;
  verdict: Verdict;
  /** The fusion model used (exactly the signals that produced a score). */
  signals: SignalId[];
  thresholds: FusionThresholds;
}

/**
 * Fuses per-signal probabilities (pure); `declared` (C2PA/IPTC says AI-made) forces
 * likely-synthetic; `outOfDistribution` (the image lies outside what the probe was trained on)
 * makes the learned verdict "uncertain": cannot tell; `aiInvolved` (C2PA says AI made an
 * ingredient or an edit) makes the verdict at least "uncertain": never "no evidence".
 */
export function fuse(fusion: FusionModel, scores: Partial<Record<SignalId, number>>, declared: boolean, outOfDistribution = false, aiInvolved = false): FusedScore {
  const ran = SIGNAL_IDS.filter((id) => scores[id] !== undefined);
  if (ran.length === 0) throw invalidArgument('signal scores', 'at least one signal score', 'none');
  const key = subsetKey(ran);
  const subset = fusion.subsets.find((s) => subsetKey(s.signals) === key);
  if (!subset) throw invalidArgument('signals', `a combination the probe was trained for (${fusion.subsets.map((s) => subsetKey(s.signals)).join(', ')})`, key);
  const probability = predictProbability(
    subset.model,
    ran.map((id) => logit(scores[id]!)),
  );
  return { probability, verdict: verdictFor(probability, subset.thresholds, declared, outOfDistribution, aiInvolved), signals: ran, thresholds: subset.thresholds };
}

export function verdictFor(probability: number, thresholds: FusionThresholds, declared: boolean, outOfDistribution = false, aiInvolved = false): Verdict {
  if (declared) return 'likely-synthetic';
  if (outOfDistribution) return 'uncertain';
  if (probability > thresholds.likelySynthetic) return 'likely-synthetic';
  if (probability > thresholds.uncertain || aiInvolved) return 'uncertain';
  return 'no-evidence';
}
