import { formatMetric } from '../../core/metric-meta.js';
import type { ScreenEvalResults } from '../../screen/result.js';
import { chartFigure, curvesSpec, type ChartFigure, type CurvePoint } from '../charts.js';
import type { ViewContext } from '../view.js';
import { SIGNAL_TITLES } from './screen.js';

/**
 * ROC and precision-recall curves of a screening evaluation, drawn from the points the evaluation
 * stored in results.json (src/screen/curves.ts: unperturbed files, all generators, per scorer).
 * Nothing is recomputed here.
 */

export interface EvalCurves {
  charts: ChartFigure[];
  /** Why there are no curves, when there are none. */
  note?: string;
}

export async function evalCurves(result: ScreenEvalResults, context: ViewContext): Promise<EvalCurves> {
  if (!context.visuals) return { charts: [] };
  const all = result.conditions[0]?.groups.find((g) => g.generator === 'all');
  const roc: CurvePoint[] = [];
  const pr: CurvePoint[] = [];
  for (const scorer of ['fused', ...result.signals] as const) {
    const metrics = all?.scorers[scorer];
    if (!metrics?.curves) continue;
    const title = scorer === 'fused' ? 'Fused' : (SIGNAL_TITLES[scorer] ?? scorer);
    for (const point of metrics.curves.roc) roc.push({ series: `${title} (AUC ${formatMetric('auc', metrics.metrics.auc.value)})`, x: point.fpr, y: point.tpr });
    for (const point of metrics.curves.pr) pr.push({ series: `${title} (AP ${formatMetric('ap', metrics.metrics.ap.value)})`, x: point.recall, y: point.precision });
  }
  if (roc.length === 0) {
    return { charts: [], note: 'This results document has no curve points (written by a vigil before they were stored, or one class had fewer than two scores): re-run vigil screen eval to draw ROC and precision-recall curves.' };
  }
  const names = (points: CurvePoint[]) => [...new Set(points.map((p) => p.series))].join(', ');
  return {
    charts: [
      await chartFigure(
        curvesSpec(roc, { xTitle: 'False positive rate (real flagged)', yTitle: 'True positive rate (synthetic caught)', diagonal: true, zoom: { x: [0, 0.1], y: 'low' } }),
        `ROC curves of ${names(roc)}.`,
        'ROC curve per scorer on the unperturbed files, all generators; the dotted diagonal is chance. Right: the low false-positive region (0–10% of real images flagged), where an operating point is chosen.',
      ),
      await chartFigure(
        curvesSpec(pr, { xTitle: 'Recall (synthetic caught)', yTitle: 'Precision (flagged that are synthetic)', zoom: { x: [0.8, 1], y: 'low' } }),
        `Precision-recall curves of ${names(pr)}.`,
        'Precision-recall curve per scorer, synthetic as the positive class, unperturbed files, all generators. Right: recall 80–100%, where curves that hug the frame separate.',
      ),
    ],
  };
}
