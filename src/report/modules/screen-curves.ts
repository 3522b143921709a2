import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { errorMessage } from '../../core/errors.js';
import { rocCurve } from '../../screen/metrics.js';
import type { ScreenEvalResults } from '../../screen/result.js';
import { SCORES_FILE } from '../../screen/scores.js';
import { chartFigure, curvesSpec, type ChartFigure, type CurvePoint } from '../charts.js';
import { formatDecimal } from '../helpers.js';
import type { ViewContext } from '../view.js';
import { SIGNAL_TITLES } from './screen.js';

/**
 * ROC and precision-recall curves of a screening evaluation. results.json holds the metrics; the
 * curves come from `scores.csv`, which `vigil screen eval --out` and `vigil demo` write beside it
 * with screen/scores.ts (one row per file and perturbation: perturbation, file, label real|fake,
 * generator, fused, one column per signal, verdict, error). The points are the exact ROC of those
 * scores (screen/metrics.ts); the precision-recall points follow from them and the class sizes.
 */

/** Curves with more points are thinned to this many (the SVG stays small; the shape does not change visibly). */
const MAX_POINTS = 400;

export interface EvalCurves {
  charts: ChartFigure[];
  /** Why there are no curves, when there are none. */
  note?: string;
}

function thin<T>(points: readonly T[]): T[] {
  if (points.length <= MAX_POINTS) return [...points];
  const step = (points.length - 1) / (MAX_POINTS - 1);
  return Array.from({ length: MAX_POINTS }, (_, i) => points[Math.round(i * step)]);
}

function scoresOf(rows: readonly Record<string, string>[], column: string, label: 'real' | 'fake'): number[] {
  return rows
    .filter((row) => row.label === label && row[column] !== undefined && row[column] !== '')
    .map((row) => Number(row[column]))
    .filter((score) => Number.isFinite(score));
}

export async function evalCurves(result: ScreenEvalResults, context: ViewContext): Promise<EvalCurves> {
  if (!context.visuals) return { charts: [] };
  const path = context.baseDir ? join(context.baseDir, SCORES_FILE) : undefined;
  if (!path || !existsSync(path)) {
    return { charts: [], note: `ROC and precision-recall curves need ${SCORES_FILE} beside results.json (written by vigil screen eval --out); it was not found.` };
  }
  let rows: Record<string, string>[];
  try {
    rows = parse(await readFile(path, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (error) {
    return { charts: [], note: `${SCORES_FILE} could not be read: ${errorMessage(error)}` };
  }
  const base = result.conditions[0];
  const all = base?.groups.find((g) => g.generator === 'all');
  const unperturbed = rows.filter((row) => row.perturbation === base?.perturbation);
  const roc: CurvePoint[] = [];
  const pr: CurvePoint[] = [];
  for (const scorer of ['fused', ...result.signals]) {
    const real = scoresOf(unperturbed, scorer, 'real');
    const fake = scoresOf(unperturbed, scorer, 'fake');
    if (real.length < 2 || fake.length < 2) continue;
    const metrics = all?.scorers[scorer as keyof typeof all.scorers]?.metrics;
    const title = scorer === 'fused' ? 'Fused' : (SIGNAL_TITLES[scorer] ?? scorer);
    const points = rocCurve({ real, fake });
    for (const point of thin(points)) roc.push({ series: `${title} (AUC ${formatDecimal(metrics?.auc.value)})`, x: point.fpr, y: point.tpr });
    const precisionRecall = points
      .filter((point) => point.tpr > 0)
      .map((point) => {
        const truePositives = point.tpr * fake.length;
        return { recall: point.tpr, precision: truePositives / (truePositives + point.fpr * real.length) };
      });
    for (const point of thin(precisionRecall)) pr.push({ series: `${title} (AP ${formatDecimal(metrics?.ap.value)})`, x: point.recall, y: point.precision });
  }
  if (roc.length === 0) return { charts: [], note: `${SCORES_FILE} has too few scores of each class to draw curves.` };
  const names = (points: CurvePoint[]) => [...new Set(points.map((p) => p.series))].join(', ');
  return {
    charts: [
      await chartFigure(
        curvesSpec(roc, { xTitle: 'False positive rate (real flagged)', yTitle: 'True positive rate (synthetic caught)', diagonal: true }),
        `ROC curves of ${names(roc)}.`,
        'ROC curve per scorer on the unperturbed files, all generators; the dotted diagonal is chance.',
      ),
      await chartFigure(
        curvesSpec(pr, { xTitle: 'Recall (synthetic caught)', yTitle: 'Precision (flagged that are synthetic)' }),
        `Precision-recall curves of ${names(pr)}.`,
        'Precision-recall curve per scorer, synthetic as the positive class, unperturbed files, all generators.',
      ),
    ],
  };
}
