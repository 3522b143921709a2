/**
 * Titles, units and directions of the metric keys used in results documents (bias metric keys
 * follow Fairlearn's names; screening keys follow DeepfakeBench's). One table, shared by the
 * reports, the model card, the CLI and docs/report.md, so a metric is named and written the same
 * way everywhere: a rate as a percentage, a difference of rates in percentage points, a ratio or a
 * score as a plain decimal.
 */

/**
 * percent: a proportion in [0, 1] written "47.5%"; points: a difference of two proportions written
 * "31.0 pts" (percentage points); ratio and score: plain decimals ("0.475").
 */
export type MetricUnit = 'percent' | 'points' | 'ratio' | 'score';

interface MetricEntry {
  label: string;
  unit: MetricUnit;
  /** Which direction is better, for reading charts and tables (undefined: neither). */
  better?: 'higher' | 'lower';
  description: string;
}

export interface MetricMeta extends MetricEntry {
  /** A proportion shown as a percentage (unit 'percent'). */
  percent: boolean;
}

const METRICS: Record<string, MetricEntry> = {
  selection_rate: {
    label: 'Selection rate',
    unit: 'percent',
    description: 'Share of the group predicted as one of the positive (or harmful) labels.',
  },
  accuracy: { label: 'Accuracy', unit: 'percent', better: 'higher', description: 'Share of predictions equal to the ground truth.' },
  error_rate: { label: 'Error rate', unit: 'percent', better: 'lower', description: 'Share of predictions that differ from the ground truth.' },
  tpr: { label: 'True positive rate', unit: 'percent', better: 'higher', description: 'Share of truly positive images predicted positive.' },
  recall: { label: 'Recall', unit: 'percent', better: 'higher', description: 'Share of the group’s annotated persons the detector found (COCO matching at the audit’s IoU and score threshold).' },
  miss_rate: { label: 'Miss rate', unit: 'percent', better: 'lower', description: 'Share of the group’s annotated persons the detector missed (1 − recall).' },
  ap50: { label: 'AP50', unit: 'score', better: 'higher', description: 'COCO average precision at IoU 0.5, with the other groups’ persons ignored.' },
  ap75: { label: 'AP75', unit: 'score', better: 'higher', description: 'COCO average precision at IoU 0.75, with the other groups’ persons ignored.' },
  fp_per_image: { label: 'False positives per image', unit: 'score', better: 'lower', description: 'Unmatched detections per image, over the images that show the group.' },
  tpr_by_label: { label: 'True positive rate of a label', unit: 'percent', better: 'higher', description: 'Share of the images of one label predicted as that label.' },
  fpr_by_label: { label: 'False positive rate of a label', unit: 'percent', better: 'lower', description: 'Share of the images of other labels predicted as that label.' },
  selection_rate_by_label: { label: 'Selection rate of a label', unit: 'percent', description: 'Share of the group predicted as that label.' },
  fpr: { label: 'False positive rate', unit: 'percent', better: 'lower', description: 'Share of truly negative images predicted positive.' },
  demographic_parity_difference: {
    label: 'Demographic parity difference',
    unit: 'points',
    better: 'lower',
    description: 'Largest difference in selection rate between groups (0 = parity).',
  },
  demographic_parity_ratio: {
    label: 'Demographic parity ratio',
    unit: 'ratio',
    better: 'higher',
    description: 'Smallest selection rate divided by the largest (1 = parity; the "four-fifths rule" asks for at least 0.8).',
  },
  equalized_odds_difference: {
    label: 'Equalized odds difference',
    unit: 'points',
    better: 'lower',
    description: 'The larger of the between-group differences in true and false positive rates (0 = parity).',
  },
  equalized_odds_ratio: {
    label: 'Equalized odds ratio',
    unit: 'ratio',
    better: 'higher',
    description: 'The smaller of the between-group ratios of true and false positive rates (1 = parity).',
  },
  max_skew: { label: 'MaxSkew@k', unit: 'score', description: 'Log ratio of the most over-represented group’s top-k share to its target share (0 = parity).' },
  min_skew: { label: 'MinSkew@k', unit: 'score', description: 'Log ratio of the most under-represented group’s top-k share to its target share (0 = parity).' },
  ndkl: { label: 'NDKL', unit: 'score', description: 'Normalised discounted KL divergence of the ranking from the target distribution (0 = parity).' },
  auc: { label: 'AUC', unit: 'score', better: 'higher', description: 'Area under the ROC curve: the chance a random synthetic image scores above a random real one.' },
  ap: { label: 'Average precision', unit: 'score', better: 'higher', description: 'Area under the precision-recall curve (screening: synthetic is the positive class; detection: COCO AP@[.5:.95] with the other groups’ persons ignored).' },
  eer: { label: 'EER', unit: 'percent', better: 'lower', description: 'Equal error rate: where the false positive rate equals the false negative rate.' },
  tpr_at_1pct_fpr: { label: 'TPR @ 1% FPR', unit: 'percent', better: 'higher', description: 'Share of synthetic images caught when 1% of real images are wrongly flagged.' },
  tpr_at_5pct_fpr: { label: 'TPR @ 5% FPR', unit: 'percent', better: 'higher', description: 'Share of synthetic images caught when 5% of real images are wrongly flagged.' },
  tpr_at_threshold: { label: 'TPR at threshold', unit: 'percent', better: 'higher', description: 'Share of synthetic images at or above the operating threshold.' },
  fpr_at_threshold: { label: 'FPR at threshold', unit: 'percent', better: 'lower', description: 'Share of real images wrongly at or above the operating threshold.' },
};

const SUFFIXES: [string, string][] = [
  ['_difference_to_overall', 'difference to overall'],
  ['_ratio_to_overall', 'ratio to overall'],
  ['_difference', 'difference (max − min)'],
  ['_ratio', 'ratio (min / max)'],
];

function humanize(key: string): string {
  const words = key.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Display metadata of any metric key, derived for mean_* and disparity suffixes. */
export function metricMeta(key: string): MetricMeta {
  const entry = metricEntry(key);
  return { ...entry, percent: entry.unit === 'percent' };
}

function metricEntry(key: string): MetricEntry {
  const known = METRICS[key];
  if (known) return known;
  for (const [suffix, words] of SUFFIXES) {
    if (key.endsWith(suffix)) {
      const base = metricEntry(key.slice(0, -suffix.length));
      const ratio = suffix.includes('ratio');
      return {
        label: `${base.label} ${words}`,
        // A difference of two rates is in percentage points; a ratio has no unit.
        unit: ratio ? 'ratio' : base.unit === 'percent' ? 'points' : base.unit,
        better: ratio ? 'higher' : 'lower',
        description: `${words.charAt(0).toUpperCase()}${words.slice(1)} of ${base.label.toLowerCase()} across groups.`,
      };
    }
  }
  if (key.startsWith('mean_')) {
    return { label: humanize(key), unit: 'score', description: `Mean ${key.slice(5).replace(/_/g, ' ')} of the group.` };
  }
  return { label: humanize(key), unit: 'score', description: '' };
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A value of `key` in its one unit: "47.5%", "31.0 pts", "0.475"; "—" when missing. */
export function formatMetric(key: string, value: unknown): string {
  if (!finite(value)) return '—';
  switch (metricEntry(key).unit) {
    case 'percent':
      return `${(value * 100).toFixed(1)}%`;
    case 'points':
      return `${(value * 100).toFixed(1)} pts`;
    default:
      return (Math.abs(value) < 0.0005 ? 0 : value).toFixed(3);
  }
}

/** An interval of `key` in the same unit as its value: "[22.0, 40.0] pts", "[41.0%, 55.2%]". */
export function formatMetricInterval(key: string, ci: readonly (number | null | undefined)[] | null | undefined): string {
  const [low, high] = ci ?? [];
  if (!finite(low) || !finite(high)) return '—';
  const unit = metricEntry(key).unit;
  if (unit === 'points') return `[${(low * 100).toFixed(1)}, ${(high * 100).toFixed(1)}] pts`;
  return `[${formatMetric(key, low)}, ${formatMetric(key, high)}]`;
}

const OPERATORS: Record<string, string> = { '<=': '≤', '>=': '≥', '<': '<', '>': '>' };

/** A threshold's comparison and bound in the metric's unit, with plain mathematical signs: "≤ 10.0 pts". */
export function formatBound(key: string, comparison: string, bound: number): string {
  return `${OPERATORS[comparison] ?? comparison} ${formatMetric(key, bound)}`;
}
