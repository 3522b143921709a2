import { rocCurve } from './metrics.js';
import type { ScreenFileResult } from './result.js';
import type { SignalId } from './signals/types.js';

/**
 * ROC and precision-recall points of a screening evaluation, computed here with the metrics and
 * stored in results.json, so a report draws them from the results alone (it computes nothing).
 * The ROC points are the exact curve of the scores (screen/metrics.ts), thinned evenly; the
 * precision-recall points follow from them and the class sizes.
 */

export interface CurvePoints {
  roc: { fpr: number; tpr: number }[];
  /** Synthetic is the positive class. */
  pr: { recall: number; precision: number }[];
}

/** Curves longer than this are thinned (the chart looks the same; results.json stays small). */
export const MAX_CURVE_POINTS = 200;

function thin<T>(points: readonly T[]): T[] {
  if (points.length <= MAX_CURVE_POINTS) return [...points];
  const step = (points.length - 1) / (MAX_CURVE_POINTS - 1);
  return Array.from({ length: MAX_CURVE_POINTS }, (_, i) => points[Math.round(i * step)]);
}

const round = (value: number): number => Math.round(value * 1e6) / 1e6;

/** The curves of one scorer's scores; undefined with fewer than two scores in a class. */
export function curvePoints(scores: { real: readonly number[]; fake: readonly number[] }): CurvePoints | undefined {
  if (scores.real.length < 2 || scores.fake.length < 2) return undefined;
  const roc = rocCurve({ real: [...scores.real], fake: [...scores.fake] });
  const pr = roc
    .filter((point) => point.tpr > 0)
    .map((point) => {
      const truePositives = point.tpr * scores.fake.length;
      return { recall: round(point.tpr), precision: round(truePositives / (truePositives + point.fpr * scores.real.length)) };
    });
  return { roc: thin(roc).map((point) => ({ fpr: round(point.fpr), tpr: round(point.tpr) })), pr: thin(pr) };
}

/** Per scorer (fused and each signal), the curves of the labelled results of one evaluation group. */
export function scorerCurves(items: readonly { result: ScreenFileResult; label: 0 | 1 }[], scorers: readonly (SignalId | 'fused')[]): Partial<Record<SignalId | 'fused', CurvePoints>> {
  const curves: Partial<Record<SignalId | 'fused', CurvePoints>> = {};
  for (const scorer of scorers) {
    const score = (item: { result: ScreenFileResult }): number | undefined =>
      item.result.status !== 'ok' ? undefined : scorer === 'fused' ? (item.result.score ?? undefined) : item.result.signals[scorer]?.score;
    const of = (label: 0 | 1) => items.filter((item) => item.label === label).map(score).filter((s): s is number => s !== undefined);
    const points = curvePoints({ real: of(0), fake: of(1) });
    if (points) curves[scorer] = points;
  }
  return curves;
}
