/**
 * Results documents built from the modules' exported types, for rendering tests. Hostile strings
 * (XSS payloads) are planted where untrusted data reaches a report: probe labels, file names,
 * manifest fields.
 */
import { SeededRandom } from '../../src/core/random.js';
import { curvePoints, type CurvePoints } from '../../src/screen/curves.js';
import { resultEnvelope } from '../../src/core/results.js';
import type { BiasResult, FeatureResult, GroupMetrics, MetricValue } from '../../src/bias/result.js';
import type {
  EvalGroup,
  MetricEstimate,
  MetricKey,
  ProbeSummary,
  ScorerMetrics,
  ScreenEvalResults,
  ScreenFileResult,
  ScreenRunResults,
  Verdict,
} from '../../src/screen/result.js';

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
        comparison: '>=',
        bound: 0.8,
        groups: ['Female', 'Male'],
      },
      {
        threshold: 'accuracy_difference <= 0.2',
        audit: 'zero-shot',
        attribute: 'race',
        metric: 'accuracy_difference',
        value: 0.17,
        ci: [0.12, 0.22],
        status: 'inconclusive',
        reason: 'the interval crosses 0.2',
        comparison: '<=',
        bound: 0.2,
      },
    ],
    verdict: 'fail',
    exclusions: [],
    limitations: ['Tiny synthetic probe set.'],
  };
}

const metricEstimates = (auc: number): Record<MetricKey, MetricEstimate> => {
  const e = (value: number, half = 0.03): MetricEstimate => ({ value, ci: [Math.max(0, value - half), Math.min(1, value + half)] });
  return {
    auc: e(auc),
    ap: e(auc - 0.02),
    eer: e(1 - auc),
    accuracy: e(auc - 0.05),
    tpr_at_1pct_fpr: e(auc - 0.3, 0.1),
    tpr_at_5pct_fpr: e(auc - 0.15, 0.08),
    tpr_at_threshold: e(auc - 0.1),
    fpr_at_threshold: e(0.04, 0.02),
  };
};

const scorer = (auc: number, real = 40, fake = 40): ScorerMetrics => ({ real, fake, threshold: 0.5, metrics: metricEstimates(auc) });

/**
 * Curve points as vigil screen eval stores them (src/screen/curves.ts), from seeded scores: real
 * ones around 0, synthetic ones shifted by `shift` (a larger shift gives a curve nearer the frame).
 */
export function seededCurves(shift: number, seed = 1): CurvePoints {
  const random = new SeededRandom(seed);
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const real = Array.from({ length: 40 }, () => sigmoid(random.normal() - 1));
  const fake = Array.from({ length: 80 }, () => sigmoid(random.normal() + shift - 1));
  return curvePoints({ real, fake })!;
}

const PROBE: ProbeSummary = {
  path: 'fixtures/screen/probe.json',
  createdAt: '2026-11-20T09:00:00.000Z',
  trainingSetSha256: 'd'.repeat(64),
  signals: ['spectral', 'clip-probe', 'mae-recon', 'metadata'],
  clipModelSha256: 'e'.repeat(64),
  maeModelSha256: 'f'.repeat(64),
  targetFpr: 0.01,
  uncertainFpr: 0.05,
  origin: { kind: 'bundled-default', note: 'bundled default probe: train your own with `vigil screen train` before acting on verdicts' },
  thresholdsFrom: 'calibration-set',
  distributionCheck: true,
};

export function screenEvalDocument(): ScreenEvalResults {
  const group = (generator: string, fused: number): EvalGroup => ({
    generator,
    real: 40,
    fake: generator === 'all' ? 80 : 40,
    scorers: { fused: scorer(fused), spectral: scorer(fused - 0.05), 'clip-probe': scorer(fused - 0.1), 'mae-recon': scorer(0.61), metadata: scorer(0.55) },
  });
  const all = group('all', 0.93);
  // Curves only where the evaluation stores them: unperturbed, all generators; fused and spectral hug the frame.
  all.scorers.fused!.curves = seededCurves(4.5, 1);
  all.scorers.spectral!.curves = seededCurves(3.8, 2);
  all.scorers.metadata!.curves = seededCurves(0.2, 3);
  return {
    ...resultEnvelope('screen-eval', new Date('2026-11-20T11:00:00Z')),
    schema: 'vigil/screen-eval',
    probe: PROBE,
    dataset: {
      realDirs: ['fixtures/screen/heldout/real'],
      generators: [
        { name: 'nnconv', dirs: ['fixtures/screen/heldout/fake/nnconv'], files: 40 },
        { name: XSS.label, dirs: ['fixtures/screen/heldout/fake/evil'], files: 40 },
      ],
      realFiles: 40,
    },
    bootstrap: { resamples: 1000, confidence: 0.95, seed: 3 },
    signals: ['spectral', 'clip-probe', 'mae-recon', 'metadata'],
    conditions: [
      { perturbation: 'none', description: 'original files', groups: [all, group('nnconv', 0.97), group(XSS.label, 0.88)] },
      { perturbation: 'jpeg-q75', description: 'JPEG quality 75', groups: [group('all', 0.81)] },
      { perturbation: 'blur-1', description: 'Gaussian blur σ=1', groups: [group('all', 0.7)] },
    ],
    realisedFpr: [{ level: 'likely-synthetic', target: 0.01, real: 40, falsePositives: 1, rate: 0.025, ci: [0.0006, 0.13] }],
    outOfDistribution: { real: 1, fake: 0 },
    errors: [{ perturbation: 'none', file: XSS.file, error: 'unsupported image format' }],
  };
}

/** A screening run whose evidence images are the given files (spectrum, heatmap, the image itself). */
export function screenDocument(images: { image: string; spectrum: string; heatmap: string }): ScreenRunResults {
  const thresholds = { likelySynthetic: 0.8, uncertain: 0.5 };
  const file = (name: string, score: number, verdict: Verdict): ScreenFileResult => ({
    file: name,
    sha256: '1'.repeat(64),
    media: 'image',
    status: 'ok',
    error: null,
    format: 'png',
    width: 64,
    height: 64,
    score,
    verdict,
    reasons: [`spectral peaks at ${XSS.label}`],
    signalsRun: ['spectral', 'mae-recon', 'metadata'],
    signalsMissing: [{ signal: 'clip-probe', reason: 'no CLIP model' }],
    thresholds,
    distribution: { inDistribution: true, distance: 1.2, threshold: 3.4, why: [] },
    signals: {
      spectral: { score, raw: 2.1, tile: 64, tiles: 1, evidence: images.spectrum },
      'mae-recon': { score: 0.6, raw: -1.2, reconstructionError: 0.0123, masks: 4, evidence: images.heatmap },
      metadata: {
        score: 0.5,
        raw: 0,
        cue: 'fingerprint',
        declared: false,
        aiInvolved: false,
        findings: [`PNG parameters chunk: ${XSS.generator}`],
        facts: {
          format: 'png',
          digitalSourceTypes: [],
          disclosure: null,
          claimGenerator: XSS.generator,
          c2paError: null,
          generatorTextChunks: [{ key: 'parameters', value: XSS.generator }],
          software: null,
          cameraMake: null,
          cameraModel: null,
        },
      },
    },
  });
  const files: ScreenFileResult[] = [
    file(images.image, 0.97, 'likely-synthetic'),
    file(XSS.file, 0.62, 'uncertain'),
    file('photo-1.jpg', 0.12, 'no-evidence'),
    file('photo-2.jpg', 0.08, 'no-evidence'),
    {
      ...file('broken.png', 0, 'no-evidence'),
      status: 'error',
      error: 'Input buffer contains unsupported image format',
      score: null,
      verdict: null,
      signals: {},
      signalsRun: [],
      signalsMissing: [],
      reasons: [],
      thresholds: null,
    },
  ];
  return {
    ...resultEnvelope('screen', new Date('2026-11-20T12:00:00Z')),
    schema: 'vigil/screen',
    probe: PROBE,
    signalsRequested: ['spectral', 'clip-probe', 'mae-recon', 'metadata'],
    files,
    summary: { files: 5, errors: 1, verdicts: { 'likely-synthetic': 1, uncertain: 1, 'no-evidence': 2 } },
    csv: 'triage.csv',
  };
}
