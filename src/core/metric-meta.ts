/**
 * Display names and units of the metric keys used in results documents (bias metric keys follow
 * Fairlearn's names; screening keys follow DeepfakeBench's). One table, so every report and the
 * model card name a metric the same way.
 */

interface MetricMeta {
  label: string;
  /** A proportion shown as a percentage. */
  percent: boolean;
  /** Which direction is better, for reading charts and tables (undefined: neither). */
  better?: 'higher' | 'lower';
  description: string;
}

const METRICS: Record<string, MetricMeta> = {
  selection_rate: {
    label: 'Selection rate',
    percent: true,
    description: 'Share of the group predicted as one of the positive (or harmful) labels.',
  },
  accuracy: { label: 'Accuracy', percent: true, better: 'higher', description: 'Share of predictions equal to the ground truth.' },
  error_rate: { label: 'Error rate', percent: true, better: 'lower', description: 'Share of predictions that differ from the ground truth.' },
  tpr: { label: 'True positive rate', percent: true, better: 'higher', description: 'Share of truly positive images predicted positive.' },
  fpr: { label: 'False positive rate', percent: true, better: 'lower', description: 'Share of truly negative images predicted positive.' },
  demographic_parity_difference: {
    label: 'Demographic parity difference',
    percent: false,
    better: 'lower',
    description: 'Largest difference in selection rate between groups (0 = parity).',
  },
  demographic_parity_ratio: {
    label: 'Demographic parity ratio',
    percent: false,
    better: 'higher',
    description: 'Smallest selection rate divided by the largest (1 = parity; the "four-fifths rule" asks for at least 0.8).',
  },
  equalized_odds_difference: {
    label: 'Equalized odds difference',
    percent: false,
    better: 'lower',
    description: 'The larger of the between-group differences in true and false positive rates (0 = parity).',
  },
  equalized_odds_ratio: {
    label: 'Equalized odds ratio',
    percent: false,
    better: 'higher',
    description: 'The smaller of the between-group ratios of true and false positive rates (1 = parity).',
  },
  max_skew: { label: 'MaxSkew@k', percent: false, description: 'Log ratio of the most over-represented group’s top-k share to its target share (0 = parity).' },
  min_skew: { label: 'MinSkew@k', percent: false, description: 'Log ratio of the most under-represented group’s top-k share to its target share (0 = parity).' },
  ndkl: { label: 'NDKL', percent: false, description: 'Normalised discounted KL divergence of the ranking from the target distribution (0 = parity).' },
  auc: { label: 'AUC', percent: false, better: 'higher', description: 'Area under the ROC curve: the chance a random synthetic image scores above a random real one.' },
  ap: { label: 'Average precision', percent: false, better: 'higher', description: 'Area under the precision-recall curve, with synthetic as the positive class.' },
  eer: { label: 'EER', percent: true, better: 'lower', description: 'Equal error rate: where the false positive rate equals the false negative rate.' },
  tpr_at_1pct_fpr: { label: 'TPR @ 1% FPR', percent: true, better: 'higher', description: 'Share of synthetic images caught when 1% of real images are wrongly flagged.' },
  tpr_at_5pct_fpr: { label: 'TPR @ 5% FPR', percent: true, better: 'higher', description: 'Share of synthetic images caught when 5% of real images are wrongly flagged.' },
  tpr_at_threshold: { label: 'TPR at threshold', percent: true, better: 'higher', description: 'Share of synthetic images at or above the operating threshold.' },
  fpr_at_threshold: { label: 'FPR at threshold', percent: true, better: 'lower', description: 'Share of real images wrongly at or above the operating threshold.' },
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
  const known = METRICS[key];
  if (known) return known;
  for (const [suffix, words] of SUFFIXES) {
    if (key.endsWith(suffix)) {
      const base = metricMeta(key.slice(0, -suffix.length));
      return {
        label: `${base.label} ${words}`,
        percent: false,
        better: suffix.includes('ratio') ? 'higher' : 'lower',
        description: `${words.charAt(0).toUpperCase()}${words.slice(1)} of ${base.label.toLowerCase()} across groups.`,
      };
    }
  }
  if (key.startsWith('mean_')) {
    return { label: humanize(key), percent: false, description: `Mean ${key.slice(5).replace(/_/g, ' ')} of the group.` };
  }
  return { label: humanize(key), percent: false, description: '' };
}
