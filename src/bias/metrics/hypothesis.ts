/**
 * Hypothesis tests of the disaggregation, over a feature's eligible groups: chi-square tests of
 * independence of group and outcome (selection, each label, correctness, TPR among positives, FPR
 * among negatives) and tests of equal group means (permutation, or ANOVA F above 100,000 rows).
 * Holm's adjustment across an audit's family is applied by the caller.
 */
import { SeededRandom } from '../../core/random.js';
import type { HypothesisTest } from '../result.js';
import type { FeaturePlan, ObservationTable } from './disaggregate.js';
import { chiSquareIndependence, regularizedBeta } from './stats.js';

export type RawTest = Omit<HypothesisTest, 'p_value_holm' | 'significant'>;

/** Chi-square tests of rates and permutation tests of means, over the eligible groups. */
export function hypothesisTests(
  table: ObservationTable,
  plan: FeaturePlan,
  nPermutations: number,
  seed: number,
): RawTest[] {
  if (plan.eligible.length < 2) return [];
  const groupIndex = new Int32Array(plan.feature.groups.length).fill(-1);
  plan.eligible.forEach((group, i) => (groupIndex[group] = i));
  const e = plan.eligible.length;
  const c = table.classes.length;
  const tests: RawTest[] = [];
  const contingency = (outcomes: number, outcomeOf: (row: number) => number): Float64Array => {
    const t = new Float64Array(e * outcomes);
    for (let row = 0; row < table.n; row++) {
      const gi = groupIndex[plan.feature.codes[row]];
      if (gi >= 0) t[gi * outcomes + outcomeOf(row)]++;
    }
    return t;
  };
  const { prediction, truth, positive } = table;
  // Membership of each class code in the positive labels.
  const inP = new Uint8Array(c);
  for (const l of positive ?? []) inP[l] = 1;
  if (prediction) {
    if (positive) {
      const t = chiSquareIndependence(contingency(2, (row) => inP[prediction[row]]), e, 2);
      tests.push({ metric: 'selection_rate', method: 'chi_square', statistic: t.statistic, df: t.df, p_value: t.p_value });
    }
    if (!positive || c > 2) {
      const t = chiSquareIndependence(contingency(c, (row) => prediction[row]), e, c);
      tests.push({ metric: 'selection_rate_by_label', method: 'chi_square', statistic: t.statistic, df: t.df, p_value: t.p_value });
    }
  }
  if (prediction && truth) {
    const t = chiSquareIndependence(contingency(2, (row) => (prediction[row] === truth[row] ? 1 : 0)), e, 2);
    tests.push({ metric: 'accuracy', method: 'chi_square', statistic: t.statistic, df: t.df, p_value: t.p_value });
    if (positive) {
      // TPR (FPR): group × predicted-positive among the rows whose truth is (is not) positive.
      for (const [metric, truthPositive] of [['tpr', 1], ['fpr', 0]] as const) {
        const counts = new Float64Array(e * 2);
        for (let row = 0; row < table.n; row++) {
          const gi = groupIndex[plan.feature.codes[row]];
          if (gi >= 0 && inP[truth[row]] === truthPositive) counts[gi * 2 + inP[prediction[row]]]++;
        }
        const r = chiSquareIndependence(counts, e, 2);
        tests.push({ metric, method: 'chi_square', statistic: r.statistic, df: r.df, p_value: r.p_value });
      }
    }
  }
  table.values.forEach((column, v) => tests.push(permutationTestOfMeans(column.data, plan, groupIndex, nPermutations, seed + 7919 * (v + 1), column.name)));
  return tests;
}

/** Above this many rows, a mean-difference test is the one-way ANOVA F test instead of permutations. */
const PERMUTATION_ROWS_LIMIT = 100_000;

/**
 * One-way ANOVA F test of equal group means (for large samples, where the permutation distribution
 * is close to it and permuting millions of rows a thousand times is not affordable).
 */
function anovaTest(values: Float64Array, codes: Int32Array, e: number, name: string): RawTest {
  const n = values.length;
  const sums = new Float64Array(e);
  const sizes = new Float64Array(e);
  let total = 0;
  for (let i = 0; i < n; i++) {
    sums[codes[i]] += values[i];
    sizes[codes[i]]++;
    total += values[i];
  }
  const grand = total / n;
  let between = 0;
  for (let g = 0; g < e; g++) between += sizes[g] * (sums[g] / sizes[g] - grand) ** 2;
  let within = 0;
  for (let i = 0; i < n; i++) within += (values[i] - sums[codes[i]] / sizes[codes[i]]) ** 2;
  const d1 = e - 1;
  const d2 = n - e;
  const f = within > 0 ? between / d1 / (within / d2) : between > 0 ? Number.POSITIVE_INFINITY : 0;
  const p = Number.isFinite(f) ? regularizedBeta(d2 / (d2 + d1 * f), d2 / 2, d1 / 2) : 0;
  return { metric: `mean_${name}`, method: 'anova_f', statistic: f, df: d1, p_value: p };
}

/** max − min of the eligible group means; p from seeded permutations of the group labels. */
function permutationTestOfMeans(
  data: Float64Array,
  plan: FeaturePlan,
  groupIndex: Int32Array,
  nPermutations: number,
  seed: number,
  name: string,
): RawTest {
  const rows: number[] = [];
  const labels: number[] = [];
  for (let row = 0; row < data.length; row++) {
    const gi = groupIndex[plan.feature.codes[row]];
    if (gi >= 0 && Number.isFinite(data[row])) {
      rows.push(row);
      labels.push(gi);
    }
  }
  return permutationTestOfGroupMeans(Float64Array.from(rows, (row) => data[row]), Int32Array.from(labels), plan.eligible.length, nPermutations, seed, name);
}

/**
 * max − min of the group means of `values` (codes[i] in 0..e−1 is value i's group); p from seeded
 * permutations of the group labels, or the ANOVA F test above PERMUTATION_ROWS_LIMIT values.
 */
export function permutationTestOfGroupMeans(values: Float64Array, codes: Int32Array, e: number, nPermutations: number, seed: number, name: string): RawTest {
  const sizes = new Float64Array(e);
  for (const gi of codes) sizes[gi]++;
  const spread = (assignment: Int32Array): number => {
    const sums = new Float64Array(e);
    for (let i = 0; i < values.length; i++) sums[assignment[i]] += values[i];
    let max = Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (let gi = 0; gi < e; gi++) {
      const mean = sums[gi] / sizes[gi];
      if (mean > max) max = mean;
      if (mean < min) min = mean;
    }
    return max - min;
  };
  if (values.length > PERMUTATION_ROWS_LIMIT) return anovaTest(values, codes, e, name);
  const observed = spread(codes);
  const rng = new SeededRandom(seed);
  const shuffled = Int32Array.from(codes);
  let atLeast = 0;
  for (let p = 0; p < nPermutations; p++) {
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = t;
    }
    if (spread(shuffled) >= observed - 1e-12 * Math.max(1, Math.abs(observed))) atLeast++;
  }
  return { metric: `mean_${name}`, method: 'permutation', statistic: observed, n_permutations: nPermutations, p_value: (atLeast + 1) / (nPermutations + 1) };
}
