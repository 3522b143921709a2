/**
 * Results documents built from the modules' exported types, for rendering tests. Hostile strings
 * (XSS payloads) are planted where untrusted data reaches a report: probe labels, file names,
 * manifest fields.
 */
import { resultEnvelope } from '../../src/core/results.js';
import type { BiasResult, FeatureResult, GroupMetrics, MetricValue } from '../../src/bias/result.js';

export const XSS = {
  label: '<img src=x onerror="window.__xss=1">',
  file: '"><script>window.__xss=2</script>.jpg',
  generator: '<script>window.__xss=3</script>Evil/1.0',
} as const;

const mv = (value: number | null, half = 0.05): MetricValue => ({
  value,
  ci: value === null ? [null, null] : [Math.max(0, value - half), Math.min(1, value + half)],
});

function groupMetrics(count: number, accuracy: number, selection: number, byLabel: Record<string, number>): GroupMetrics {
  return {
    count,
    accuracy: mv(accuracy),
    error_rate: mv(1 - accuracy),
    selection_rate: mv(selection),
    selection_rate_by_label: Object.fromEntries(Object.entries(byLabel).map(([label, v]) => [label, mv(v)])),
    mean_score: mv(0.5 + selection / 4, 0.02),
  } as GroupMetrics;
}

function feature(attribute: string, components: string[], groups: [string, number, number, number][]): FeatureResult {
  const total = groups.reduce((sum, [, n]) => sum + n, 0);
  const labels = ['doctor', 'nurse', XSS.label];
  const by_group: Record<string, GroupMetrics> = {};
  for (const [name, n, acc, sel] of groups) {
    by_group[name] = groupMetrics(n, acc, sel, { doctor: 1 - sel - 0.1, nurse: sel, [XSS.label]: 0.1 });
  }
  const eligible = groups.filter(([, n]) => n >= 30);
  const accs = eligible.map(([, , a]) => a);
  return {
    attribute,
    components,
    groups: groups.map(([name, n]) => ({ name, count: n, share: n / total, insufficient_data: n < 30 })),
    eligible_groups: eligible.map(([name]) => name),
    by_group,
    overall: groupMetrics(total, 0.8, 0.3, { doctor: 0.6, nurse: 0.3, [XSS.label]: 0.1 }),
    disparities: {
      accuracy_difference: { ...mv(Math.max(...accs) - Math.min(...accs)), groups: [eligible[0][0], eligible[eligible.length - 1][0]] },
      demographic_parity_ratio: { ...mv(0.62), groups: [eligible[0][0], eligible[eligible.length - 1][0]] },
      demographic_parity_difference: { ...mv(null), groups: null },
    },
    largest_disparity: { metric: 'selection_rate', difference: 0.21, groups: [eligible[0][0], eligible[eligible.length - 1][0]] },
    tests: [{ metric: 'selection_rate', method: 'chi_square', statistic: 9.4, df: 2, p_value: 0.009, p_value_holm: 0.018, significant: true }],
    ...(labels.length ? {} : {}),
  };
}

export function biasDocument(): BiasResult {
  const gender = feature('gender', ['gender'], [
    ['female', 120, 0.74, 0.41],
    ['male', 130, 0.86, 0.2],
    [XSS.label, 12, 0.5, 0.5],
  ]);
  const race = feature('race', ['race'], [
    ['Black', 80, 0.71, 0.38],
    ['White', 90, 0.88, 0.22],
    ['Asian', 92, 0.82, 0.3],
  ]);
  const both = feature('gender × race', ['gender', 'race'], [
    ['female × Black', 40, 0.65, 0.45],
    ['male × White', 45, 0.9, 0.18],
    ['female × Asian', 25, 0.78, 0.33],
  ]);
  return {
    ...resultEnvelope('bias', new Date('2026-11-20T10:00:00Z')),
    schema: 'vigil/bias',
    name: 'occupation zero-shot audit',
    spec: { path: 'audits/occupations.yaml', sha256: 'a'.repeat(64), document: { name: 'occupation zero-shot audit', thresholds: ['demographic_parity_ratio >= 0.8'] } },
    model: { path: 'fixtures/models/clip', kind: 'clip', sha256: 'b'.repeat(64), provider: 'cpu' },
    probe_set: {
      root: 'fixtures/probes/faces',
      format: 'csv',
      manifest_sha256: 'c'.repeat(64),
      n_rows: 262,
      n_excluded: 1,
      problems: [{ line: 7, column: 'file', value: XSS.file, message: 'file does not exist' }],
    },
    predictions: null,
    settings: {
      seed: 7,
      n_boot: 1000,
      ci_level: 0.95,
      min_group_size: 30,
      n_permutations: 2000,
      alpha: 0.05,
      sensitive: ['gender', 'race'],
      intersections: [['gender', 'race']],
      ks: [10, 50],
    },
    audits: [
      {
        id: 'zero-shot',
        kind: 'zero-shot',
        title: 'Zero-shot occupation labels',
        description: 'CLIP zero-shot over occupation labels.',
        parameters: { ensembling: true },
        disclosure: { labels: ['doctor', 'nurse', XSS.label], templates: ['a photo of a {}.'], harmful_labels: [XSS.label] },
        n_observations: 262,
        features: [gender, race, both],
        failures: [{ file: XSS.file, error: 'unreadable image' }],
        inference: { images_inferred: 262, cache_hits: 0 },
      },
    ],
    verdicts: [
      {
        threshold: 'demographic_parity_ratio >= 0.8',
        audit: 'zero-shot',
        attribute: 'gender',
        metric: 'demographic_parity_ratio',
        value: 0.62,
        ci: [0.57, 0.67],
        status: 'fail',
        reason: 'value 0.62 is below 0.8',
      },
      {
        threshold: 'accuracy_difference <= 0.2',
        audit: 'zero-shot',
        attribute: 'race',
        metric: 'accuracy_difference',
        value: 0.17,
        ci: [0.12, 0.22],
        status: 'warn',
        reason: 'the interval crosses 0.2',
      },
    ],
    verdict: 'fail',
    limitations: ['Tiny synthetic probe set.'],
  };
}
