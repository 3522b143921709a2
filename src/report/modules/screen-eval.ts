import type { EvalGroup, MetricKey, ScorerMetrics, ScreenEvalResults } from '../../screen/result.js';
import { chartFigure, intervalBarsSpec, type ChartFigure } from '../charts.js';
import { formatDecimal, formatNumber, formatPercent } from '../helpers.js';
import { envelopeReproducibility, type Headline, type ReportView, type ViewContext } from '../view.js';
import { formatMetric, formatMetricInterval, metricMeta } from '../../core/metric-meta.js';
import type { ReportModule } from './module.js';
import { probeNotes, probeReproducibility, SCREEN_LIMITATIONS, SIGNAL_TITLES } from './screen.js';
import { evalCurves } from './screen-curves.js';

/** The metrics the eval tables show, in DeepfakeBench's order. */
const TABLE_METRICS: MetricKey[] = ['auc', 'ap', 'eer', 'accuracy', 'tpr_at_1pct_fpr', 'tpr_at_5pct_fpr'];

/** The fused score's summary cards: metric and card label. */
const SUMMARY_METRICS: readonly [MetricKey, string][] = [
  ['auc', 'AUC (fused)'],
  ['ap', 'Average precision'],
  ['eer', 'Equal error rate'],
  ['tpr_at_1pct_fpr', 'TPR @ 1% FPR'],
  ['tpr_at_5pct_fpr', 'TPR @ 5% FPR'],
];

/** At most this many rows of per-file errors are listed. */
const MAX_ERRORS = 50;

const scorerTitle = (id: string) => (id === 'fused' ? 'Fused' : (SIGNAL_TITLES[id] ?? id));

function metricCells(scorer: ScorerMetrics | undefined) {
  return TABLE_METRICS.map((key) => {
    const estimate = scorer?.metrics[key];
    return { key, value: estimate?.value ?? null, ci: estimate?.ci ?? [null, null], percent: metricMeta(key).percent };
  });
}

function scorerIds(group: EvalGroup): string[] {
  const ids = Object.keys(group.scorers).filter((id) => id !== 'fused');
  return group.scorers.fused ? ['fused', ...ids] : ids;
}

async function aucChart(
  rows: { label: string; scorer: ScorerMetrics | undefined }[],
  what: string,
  context: ViewContext,
): Promise<ChartFigure | undefined> {
  const bars = rows
    .filter((row) => row.scorer !== undefined)
    .map((row) => ({ label: row.label, value: row.scorer!.metrics.auc.value, low: row.scorer!.metrics.auc.ci[0], high: row.scorer!.metrics.auc.ci[1] }));
  if (!context.visuals || bars.length === 0) return undefined;
  const alt = `Fused AUC ${what}: ${bars.map((bar) => `${bar.label} ${formatDecimal(bar.value)}`).join('; ')}.`;
  return chartFigure(
    intervalBarsSpec(bars, { valueTitle: 'AUC (fused)', reference: 0.5, referenceLabel: 'chance' }),
    alt,
    `Fused AUC ${what} with bootstrap intervals; the dashed line is chance (0.5).`,
  );
}

/** The sentence at the top: how well the fused screen separates the classes, and where it is weakest. */
export function screenEvalHeadline(result: ScreenEvalResults): Headline {
  const fusedOf = (condition: ScreenEvalResults['conditions'][number]) => (condition.groups.find((g) => g.generator === 'all') ?? condition.groups[0])?.scorers.fused;
  const base = result.conditions[0] ? fusedOf(result.conditions[0]) : undefined;
  if (!base) return { label: 'CANNOT TELL', tone: 'warn', text: 'the fused score could not be evaluated: one class has too few scored images.' };
  const worst = result.conditions
    .slice(1)
    .map((condition) => ({ condition, fused: fusedOf(condition) }))
    .filter((entry) => entry.fused !== undefined)
    .sort((a, b) => a.fused!.metrics.auc.value - b.fused!.metrics.auc.value)[0];
  const { auc, tpr_at_1pct_fpr: tpr } = base.metrics;
  const weakest = worst ? `; weakest under ${worst.condition.perturbation} (AUC ${formatMetric('auc', worst.fused!.metrics.auc.value)} ${formatMetricInterval('auc', worst.fused!.metrics.auc.ci)})` : '';
  return {
    label: 'MEASURED',
    tone: auc.ci[0] > 0.5 ? 'good' : 'warn',
    text: `the fused screen ranks a synthetic image above a real one with AUC ${formatMetric('auc', auc.value)} ${formatMetricInterval('auc', auc.ci)} and catches ${formatMetric('tpr_at_1pct_fpr', tpr.value)} ${formatMetricInterval('tpr_at_1pct_fpr', tpr.ci)} of synthetic images when 1% of real ones are flagged${weakest}.`,
  };
}

export const screenEvalModule: ReportModule<ScreenEvalResults> = {
  schema: 'vigil/screen-eval',
  async buildView(result, context) {
    const base = result.conditions[0];
    const all = base?.groups.find((g) => g.generator === 'all') ?? base?.groups[0];
    const fusedAll = all?.scorers.fused;
    const generators = (base?.groups ?? []).filter((g) => g.generator !== 'all');
    const scorers = all ? scorerIds(all) : [];
    const confidence = Math.round(result.bootstrap.confidence * 100);

    const overall = all
      ? scorers.map((id) => ({ id, title: scorerTitle(id), real: all.scorers[id as keyof EvalGroup['scorers']]?.real, fake: all.scorers[id as keyof EvalGroup['scorers']]?.fake, cells: metricCells(all.scorers[id as keyof EvalGroup['scorers']]) }))
      : [];
    const perGenerator = generators.map((group) => ({
      generator: group.generator,
      real: group.real,
      fake: group.fake,
      cells: metricCells(group.scorers.fused),
      aucBySignal: scorers.map((id) => {
        const estimate = group.scorers[id as keyof EvalGroup['scorers']]?.metrics.auc;
        return { key: `auc:${id}`, value: estimate?.value ?? null, ci: estimate?.ci ?? [null, null], percent: false };
      }),
    }));
    const robustness = result.conditions.map((condition) => {
      const group = condition.groups.find((g) => g.generator === 'all') ?? condition.groups[0];
      const fused = group?.scorers.fused;
      const auc = fused?.metrics.auc.value;
      return {
        perturbation: condition.perturbation,
        description: condition.description,
        cells: metricCells(fused),
        aucDelta: auc !== undefined && fusedAll && condition !== base ? auc - fusedAll.metrics.auc.value : null,
      };
    });

    const curves = await evalCurves(result, context);
    const charts: ChartFigure[] = [];
    const generatorChart = await aucChart(
      generators.map((g) => ({ label: `${g.generator} (n=${g.fake})`, scorer: g.scorers.fused })),
      'per generator',
      context,
    );
    if (generatorChart) charts.push(generatorChart);
    const robustnessChart =
      result.conditions.length > 1
        ? await aucChart(
            result.conditions.map((c) => ({ label: c.perturbation, scorer: (c.groups.find((g) => g.generator === 'all') ?? c.groups[0])?.scorers.fused })),
            'per perturbation',
            context,
          )
        : undefined;

    const view: ReportView = {
      partial: 'screen-eval',
      kindLabel: 'Screening evaluation',
      headline: screenEvalHeadline(result),
      title: 'Evaluation of the synthetic-media screen',
      subtitle: `${formatNumber(result.dataset.realFiles)} real images against ${result.dataset.generators.reduce((n, g) => n + g.files, 0)} synthetic images from ${result.dataset.generators.length} generator(s); ${confidence}% bootstrap intervals.`,
      summary: fusedAll
        ? SUMMARY_METRICS.map(([key, label]) => {
            const estimate = fusedAll.metrics[key];
            return { key, label, value: formatMetric(key, estimate.value), raw: estimate.value, interval: formatMetricInterval(key, estimate.ci) };
          })
        : [],
      sections: [
        { id: 'performance', title: 'Detection performance' },
        { id: 'generators', title: 'Per generator' },
        ...(result.conditions.length > 1 ? [{ id: 'robustness', title: 'Robustness' }] : []),
        { id: 'dataset', title: 'Evaluation data' },
      ],
      notes: [
        ...probeNotes(result.probe),
        ...(result.realisedFpr ?? []).map(
          (r) =>
            `Realised false-positive rate (${r.level}, target ${formatPercent(r.target)}): ${r.falsePositives} of ${r.real} real images = ${formatPercent(r.rate)} [${formatPercent(r.ci[0])}, ${formatPercent(r.ci[1])}] (Clopper-Pearson).`,
        ),
        ...(result.families?.families ?? []).map(
          (f) =>
            `${result.families!.protocol} ${f.family}: AUC vigil ${formatDecimal(f.vigil.auc.value, 3)} [${formatDecimal(f.vigil.auc.ci[0], 2)}, ${formatDecimal(f.vigil.auc.ci[1], 2)}], Durall baseline ${formatDecimal(f.durall.auc.value, 3)} [${formatDecimal(f.durall.auc.ci[0], 2)}, ${formatDecimal(f.durall.auc.ci[1], 2)}].`,
        ),
        ...(fusedAll ? [] : ['The fused score could not be evaluated (too few scores in one class).']),
      ],
      body: {
        confidence,
        columns: TABLE_METRICS.map((key) => ({ key, ...metricMeta(key) })),
        threshold: fusedAll?.threshold,
        overall,
        perGenerator,
        signalColumns: scorers.map((id) => ({ id, title: scorerTitle(id) })),
        charts,
        curves: curves.charts,
        curvesNote: curves.note,
        robustness: result.conditions.length > 1 ? robustness : [],
        robustnessChart,
        dataset: result.dataset,
        errors: result.errors.slice(0, MAX_ERRORS),
        errorsOmitted: Math.max(0, result.errors.length - MAX_ERRORS),
      },
      reproducibility: [
        ...envelopeReproducibility(result),
        ...probeReproducibility(result.probe),
        { label: 'Bootstrap', value: `${result.bootstrap.resamples} resamples per class, ${confidence}% percentile intervals, seed ${result.bootstrap.seed}` },
        { label: 'Real folders', value: result.dataset.realDirs.join(', '), mono: true },
        ...result.dataset.generators.map((g) => ({ label: `Generator “${g.name}”`, value: g.dirs.join(', '), mono: true })),
      ],
      limitations: [
        'These numbers hold for this evaluation set: generators, content and post-processing not represented here can perform very differently.',
        'Intervals come from resampling images within each class; they do not cover a change of data distribution.',
        ...SCREEN_LIMITATIONS,
      ],
    };
    return view;
  },
};
