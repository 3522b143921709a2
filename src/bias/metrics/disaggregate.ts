/**
 * Disaggregated metrics with stratified bootstrap intervals, in the spirit of Fairlearn's
 * MetricFrame: every metric per group, overall, and as disparities between groups and to overall.
 *
 * The resampling lives in bootstrap.ts, the hypothesis tests in hypothesis.ts.
 *
 * Vectorized bootstrap: all metrics are functions of per-group sufficient statistics (counts of
 * (truth, prediction) cells, sums of numeric columns, the top of each ranking). Rows are resampled
 * with replacement within each stratum (the cross of all sensitive features, so every feature's
 * group sizes stay fixed), the sufficient statistics are accumulated in typed arrays, and one pass
 * computes every metric of every feature for that replicate. When the statistics are cell counts
 * only, a stratum's resample is drawn directly as multinomial cell counts. Memory is O(rows) for
 * the codes plus O(n_boot × metrics) for the replicates.
 */
import { SeededRandom } from '../../core/random.js';
import type { Disparity, FeatureResult, GroupMetrics, GroupSummary, MetricValue, SkewAtKResult } from '../result.js';
import { crossStrata, type Feature } from './features.js';
import { NdklWalk, SKEW_TARGETS, skewAtK, targetShares } from './skew.js';
import { Resampler, RankingOrder, ROW_RESAMPLING_LIMIT, rowsByStratum, topStrata, type Aggregates } from './bootstrap.js';
import { hypothesisTests } from './hypothesis.js';
import { bcaInterval, holmAdjust, jackknifeAcceleration } from './stats.js';

/** Observations in columnar form: every array has one entry per observation. */
export interface ObservationTable {
  n: number;
  features: Feature[];
  /** Label vocabulary of `truth` and `prediction`. */
  classes: string[];
  /** Ground-truth class code per observation. */
  truth?: Int32Array;
  /** Predicted class code per observation. */
  prediction?: Int32Array;
  /** Class codes that count as selected/positive (`selection_rate`, `tpr`, `fpr`); none: multiclass. */
  positive?: number[];
  /** Numeric columns reported as `mean_<name>`. */
  values: { name: string; data: Float64Array }[];
  /** Scores to rank observations by (one per retrieval query), for skew metrics. */
  rankings: { name: string; scores: Float64Array }[];
}

export interface DisaggregateOptions {
  seed: number;
  nBoot: number;
  minGroupSize: number;
  /** Interval level (default 0.95). */
  ciLevel?: number;
  /** k values of the skew metrics (needed with rankings). */
  ks?: number[];
  /** Permutations for tests of mean differences (default 1000). */
  nPermutations?: number;
  /** Significance level of the tests after Holm correction (default 0.05). */
  alpha?: number;
  /** Equalized odds as the worst (default) or the mean of the TPR and FPR disparities (Fairlearn's agg). */
  equalizedOddsAgg?: 'worst_case' | 'mean';
  /** Blocks of the delete-a-block jackknife behind the BCa acceleration (default 20). */
  jackknifeBlocks?: number;
  /**
   * `rows`: resample rows one by one (exact; O(rows) per replicate); `statistics`: multinomial
   * draws over sufficient statistics (O(cells + max k) per replicate). Default: rows while
   * rows × n_boot ≤ 5e7, statistics beyond.
   */
  resampling?: 'rows' | 'statistics';
  /** Called after each bootstrap replicate (progress). */
  onReplicate?: () => void;
}

/** A per-group metric computed from one group's cell counts and column sums. */
interface GroupMetricDef {
  /** Field of GroupMetrics. */
  field: string;
  /** Label key for `*_by_label` fields. */
  label?: string;
  /** True for scalar metrics, which get between/to-overall disparities. */
  scalar: boolean;
  compute(cells: Float64Array, sums: Float64Array, count: number): number;
}

/**
 * A slot of the metric vector (one metric of one group, disparity or skew of one feature). Slots
 * are made only by `slot.*`, so the pass that writes values (evaluate) and the one that reads them
 * (assembleFeature) cannot disagree on a key.
 */
type Slot = string & { readonly __slot: unique symbol };
type SkewStat = 'max_skew' | 'min_skew' | 'ndkl';
const slot = {
  group: (feature: number, group: number | 'overall', metric: number) => `${feature}|${group}|${metric}` as Slot,
  disparity: (feature: number, name: string) => `${feature}|d|${name}` as Slot,
  skew: (feature: number, ranking: number, k: number, target: string, stat: SkewStat) => `${feature}|s|${ranking}|${k}|${target}|${stat}` as Slot,
};

/** Writes metric values in a fixed order; the point-estimate pass also records their keys. */
class SlotWriter {
  index = 0;
  constructor(
    readonly out: Float64Array | number[],
    readonly keys: Slot[] | null,
  ) {}
  put(key: Slot, value: number): void {
    if (this.keys) this.keys.push(key);
    this.out[this.index++] = value;
  }
}

const RATE_FIELDS = new Set(['selection_rate', 'selection_rate_by_label', 'accuracy', 'error_rate', 'tpr', 'fpr', 'tpr_by_label', 'fpr_by_label']);

function defineGroupMetrics(table: ObservationTable): { defs: GroupMetricDef[]; cellCount: number; cellOf: Int32Array } {
  const c = table.classes.length;
  const { truth, prediction, positive } = table;
  const defs: GroupMetricDef[] = [];
  const cellOf = new Int32Array(table.n);
  let cellCount = 1;
  if (prediction && truth) {
    cellCount = c * c;
    for (let i = 0; i < table.n; i++) cellOf[i] = truth[i] * c + prediction[i];
  } else if (prediction) {
    cellCount = c;
    cellOf.set(prediction);
  }
  if (prediction) {
    const stride = truth ? c : 0;
    const rows = truth ? c : 1;
    const predicted = (cells: Float64Array, label: number): number => {
      let sum = 0;
      for (let t = 0; t < rows; t++) sum += cells[t * stride + label];
      return sum;
    };
    if (positive) {
      defs.push({
        field: 'selection_rate',
        scalar: true,
        compute: (cells, _s, n) => positive.reduce((sum, l) => sum + predicted(cells, l), 0) / n,
      });
    }
    table.classes.forEach((label, l) =>
      defs.push({ field: 'selection_rate_by_label', label, scalar: false, compute: (cells, _s, n) => predicted(cells, l) / n }),
    );
  }
  if (prediction && truth) {
    const correct = (cells: Float64Array): number => {
      let sum = 0;
      for (let l = 0; l < c; l++) sum += cells[l * c + l];
      return sum;
    };
    defs.push({ field: 'accuracy', scalar: true, compute: (cells, _s, n) => correct(cells) / n });
    defs.push({ field: 'error_rate', scalar: true, compute: (cells, _s, n) => 1 - correct(cells) / n });
    // Rates of "predicted in P" among rows whose truth is (or is not) in P.
    const rate = (cells: Float64Array, inP: Uint8Array, truthInP: boolean): number => {
      let hits = 0;
      let total = 0;
      for (let t = 0; t < c; t++) {
        if ((inP[t] === 1) !== truthInP) continue;
        for (let p = 0; p < c; p++) {
          total += cells[t * c + p];
          if (inP[p] === 1) hits += cells[t * c + p];
        }
      }
      return hits / total;
    };
    const membership = (labels: number[]): Uint8Array => {
      const inP = new Uint8Array(c);
      for (const l of labels) inP[l] = 1;
      return inP;
    };
    if (positive) {
      const inP = membership(positive);
      defs.push({ field: 'tpr', scalar: true, compute: (cells) => rate(cells, inP, true) });
      defs.push({ field: 'fpr', scalar: true, compute: (cells) => rate(cells, inP, false) });
    }
    table.classes.forEach((label, l) => {
      const inP = membership([l]);
      defs.push({ field: 'tpr_by_label', label, scalar: false, compute: (cells) => rate(cells, inP, true) });
      defs.push({ field: 'fpr_by_label', label, scalar: false, compute: (cells) => rate(cells, inP, false) });
    });
  }
  table.values.forEach((column, v) =>
    defs.push({ field: `mean_${column.name}`, scalar: true, compute: (_c, sums, n) => sums[v] / n }),
  );
  return { defs, cellCount, cellOf };
}

/** Between-group and to-overall difference and ratio over the finite values (Fairlearn semantics). */
export function disparities(values: ArrayLike<number>, overall: number): {
  difference: number;
  ratio: number;
  differenceToOverall: number;
  ratioToOverall: number;
  maxIndex: number;
  minIndex: number;
  farthestIndex: number;
} {
  let maxIndex = -1;
  let minIndex = -1;
  let farthestIndex = -1;
  let differenceToOverall = Number.NaN;
  let ratioToOverall = Number.NaN;
  let finite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    finite++;
    if (maxIndex < 0 || v > values[maxIndex]) maxIndex = i;
    // The last minimum, so that equal values still name two different groups.
    if (minIndex < 0 || v <= values[minIndex]) minIndex = i;
    const gap = Math.abs(v - overall);
    if (!(gap <= differenceToOverall)) {
      differenceToOverall = gap;
      farthestIndex = i;
    }
    const r = safeRatio(Math.min(v, overall), Math.max(v, overall));
    if (!(r >= ratioToOverall)) ratioToOverall = r;
  }
  if (finite < 2) {
    return { difference: Number.NaN, ratio: Number.NaN, differenceToOverall: Number.NaN, ratioToOverall: Number.NaN, maxIndex: -1, minIndex: -1, farthestIndex: -1 };
  }
  const max = values[maxIndex];
  const min = values[minIndex];
  return { difference: max - min, ratio: safeRatio(min, max), differenceToOverall, ratioToOverall, maxIndex, minIndex, farthestIndex };
}

/** min/max with 0/0 = 1: groups that all have a zero rate are at parity. */
function safeRatio(min: number, max: number): number {
  if (min === 0 && max === 0) return 1;
  return min / max;
}

export interface FeaturePlan {
  feature: Feature;
  eligible: number[];
  counts: Float64Array;
}

/** Computes every metric from aggregates, writing them in a fixed order. */
function evaluate(
  table: ObservationTable,
  plans: FeaturePlan[],
  groupOf: Int32Array[],
  defs: GroupMetricDef[],
  cellCount: number,
  ks: number[],
  agg: Aggregates,
  out: SlotWriter,
  equalizedOddsAgg: 'worst_case' | 'mean',
): void {
  const nValues = table.values.length;
  const strata = groupOf[0]?.length ?? 0;
  plans.forEach((plan, f) => {
    const g = plan.feature.groups.length;
    const cells = new Float64Array((g + 1) * cellCount);
    const sums = new Float64Array((g + 1) * nValues);
    for (let s = 0; s < strata; s++) {
      const group = groupOf[f][s];
      for (let j = 0; j < cellCount; j++) {
        const v = agg.cells[s * cellCount + j];
        cells[group * cellCount + j] += v;
        cells[g * cellCount + j] += v;
      }
      for (let j = 0; j < nValues; j++) {
        const v = agg.sums[s * nValues + j];
        sums[group * nValues + j] += v;
        sums[g * nValues + j] += v;
      }
    }
    // Group sizes from the cells (every row has one), so a jackknife's deleted rows are accounted for.
    const counts = new Float64Array(g + 1);
    for (let group = 0; group <= g; group++) {
      let count = 0;
      for (let j = 0; j < cellCount; j++) count += cells[group * cellCount + j];
      counts[group] = count;
    }
    // metric value per group (g rows + overall) for every def
    const grid = new Float64Array((g + 1) * defs.length);
    for (let group = 0; group <= g; group++) {
      const cellView = cells.subarray(group * cellCount, (group + 1) * cellCount);
      const sumView = sums.subarray(group * nValues, (group + 1) * nValues);
      defs.forEach((def, m) => {
        const value = def.compute(cellView, sumView, counts[group]);
        grid[group * defs.length + m] = value;
        out.put(slot.group(f, group === g ? 'overall' : group, m), value);
      });
    }
    const eligibleValues = new Float64Array(plan.eligible.length);
    const disparityOf = (m: number) => {
      plan.eligible.forEach((group, i) => (eligibleValues[i] = grid[group * defs.length + m]));
      return disparities(eligibleValues, grid[g * defs.length + m]);
    };
    const byField = new Map<string, ReturnType<typeof disparities>[]>();
    defs.forEach((def, m) => {
      const d = disparityOf(m);
      if (def.scalar) {
        out.put(slot.disparity(f, `${def.field}_difference`), d.difference);
        out.put(slot.disparity(f, `${def.field}_ratio`), d.ratio);
        out.put(slot.disparity(f, `${def.field}_difference_to_overall`), d.differenceToOverall);
        out.put(slot.disparity(f, `${def.field}_ratio_to_overall`), d.ratioToOverall);
      }
      const list = byField.get(def.field) ?? [];
      list.push(d);
      byField.set(def.field, list);
    });
    const worst = (field: string, pick: 'difference' | 'ratio'): number => {
      const list = byField.get(field) ?? [];
      let best = Number.NaN;
      for (const d of list) {
        const v = d[pick];
        if (!Number.isFinite(v)) continue;
        if (Number.isNaN(best) || (pick === 'difference' ? v > best : v < best)) best = v;
      }
      return best;
    };
    if (table.prediction) {
      const field = table.positive ? 'selection_rate' : 'selection_rate_by_label';
      out.put(slot.disparity(f, `demographic_parity_difference`), worst(field, 'difference'));
      out.put(slot.disparity(f, `demographic_parity_ratio`), worst(field, 'ratio'));
    }
    if (table.prediction && table.truth) {
      const [tpr, fpr] = table.positive ? ['tpr', 'fpr'] : ['tpr_by_label', 'fpr_by_label'];
      if (equalizedOddsAgg === 'mean') {
        // Fairlearn's agg='mean': the mean of the TPR and FPR disparities (undefined if either is).
        out.put(slot.disparity(f, `equalized_odds_difference`), (worst(tpr, 'difference') + worst(fpr, 'difference')) / 2);
        out.put(slot.disparity(f, `equalized_odds_ratio`), (worst(tpr, 'ratio') + worst(fpr, 'ratio')) / 2);
      } else {
        out.put(slot.disparity(f, `equalized_odds_difference`), nanMax(worst(tpr, 'difference'), worst(fpr, 'difference')));
        out.put(slot.disparity(f, `equalized_odds_ratio`), nanMin(worst(tpr, 'ratio'), worst(fpr, 'ratio')));
      }
    }
    table.rankings.forEach((_ranking, r) => {
      const top = agg.tops[r];
      for (const target of SKEW_TARGETS) {
        const shares = targetShares(target, plan.counts);
        const topCounts = new Float64Array(g);
        const walk = new NdklWalk(shares);
        let next = 0;
        const maxK = ks[ks.length - 1];
        for (let i = 1; i <= maxK; i++) {
          if (i <= top.length) {
            const group = groupOf[f][top[i - 1]];
            topCounts[group]++;
            walk.add(group);
          }
          if (i === ks[next]) {
            const skew = skewAtK(topCounts, i, shares);
            out.put(slot.skew(f, r, i, target, 'max_skew'), skew.max_skew);
            out.put(slot.skew(f, r, i, target, 'min_skew'), skew.min_skew);
            out.put(slot.skew(f, r, i, target, 'ndkl'), walk.at(i));
            next++;
          }
        }
      }
    });
  });
}

function nanMax(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return Math.max(a, b);
}

function nanMin(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return Math.min(a, b);
}

export interface Disaggregation {
  features: FeatureResult[];
  /** Number of bootstrap replicates actually drawn. */
  nBoot: number;
}

/** Validates the table and options, runs the point estimate, the bootstrap and the tests. */
export function disaggregate(table: ObservationTable, options: DisaggregateOptions): Disaggregation {
  const ciLevel = options.ciLevel ?? 0.95;
  const alpha = options.alpha ?? 0.05;
  const nPermutations = options.nPermutations ?? 1000;
  const ks = [...new Set(options.ks ?? [])].sort((a, b) => a - b);
  if (table.features.length === 0) throw new Error('disaggregate: no sensitive feature');
  if (table.rankings.length > 0 && ks.length === 0) throw new Error('disaggregate: rankings need at least one k');
  const { defs, cellCount, cellOf } = defineGroupMetrics(table);
  const strata = crossStrata(table.features, table.n);
  const stratumRows = rowsByStratum(strata.codes, strata.count);
  const plans: FeaturePlan[] = table.features.map((feature) => {
    const counts = new Float64Array(feature.groups.length);
    for (const code of feature.codes) counts[code]++;
    const eligible = [...counts.keys()].filter((g) => counts[g] >= options.minGroupSize);
    return { feature, counts, eligible };
  });
  const maxK = ks[ks.length - 1] ?? 0;
  const orders = table.rankings.map((ranking) => new RankingOrder(ranking.scores, 4 * maxK + 64));

  const resampler = new Resampler(table, strata, stratumRows, cellCount, cellOf, orders, maxK);
  const point = resampler.point;
  // Row by row while that is cheap (exact); from sufficient statistics beyond.
  const nValues = table.values.length;
  const perRow = nValues > 0 && (options.resampling === 'rows' || (options.resampling === undefined && table.n * options.nBoot <= ROW_RESAMPLING_LIMIT));

  const pointValues: number[] = [];
  const keys: Slot[] = [];
  const eoAgg = options.equalizedOddsAgg ?? 'worst_case';
  evaluate(table, plans, strata.groupOf, defs, cellCount, ks, point, new SlotWriter(pointValues, keys), eoAgg);
  const slots = keys.length;
  const replicates = new Float64Array(options.nBoot * slots);
  const rng = new SeededRandom(options.seed);
  const weights = perRow && orders.length > 0 ? new Int32Array(table.n) : null;
  for (let b = 0; b < options.nBoot; b++) {
    weights?.fill(0);
    const writer = new SlotWriter(replicates.subarray(b * slots, (b + 1) * slots), null);
    evaluate(table, plans, strata.groupOf, defs, cellCount, ks, perRow ? resampler.rows(weights, rng) : resampler.multinomial(rng), writer, eoAgg);
    options.onReplicate?.();
  }
  // Delete-a-block jackknife for the BCa acceleration (see Resampler.withoutBlock).
  const blocks = Math.max(2, options.jackknifeBlocks ?? 20);
  const jackknife = new Float64Array(options.nBoot > 0 ? blocks * slots : 0);
  if (options.nBoot > 0) {
    const blockOf = resampler.blocks(blocks);
    for (let j = 0; j < blocks; j++) {
      evaluate(table, plans, strata.groupOf, defs, cellCount, ks, resampler.withoutBlock(blockOf, j), new SlotWriter(jackknife.subarray(j * slots, (j + 1) * slots), null), eoAgg);
    }
  }
  const slotIndex = new Map(keys.map((key, i) => [key, i]));
  const metric = (key: Slot): MetricValue => {
    const i = slotIndex.get(key);
    if (i === undefined) throw new Error(`disaggregate: no slot ${key}`);
    const ci =
      options.nBoot > 0
        ? bcaInterval(pointValues[i], replicates, i, slots, options.nBoot, ciLevel, jackknifeAcceleration(jackknife, i, slots, blocks))
        : [Number.NaN, Number.NaN];
    return { value: finiteOrNull(pointValues[i]), ci: [finiteOrNull(ci[0]), finiteOrNull(ci[1])] };
  };

  const features = plans.map((plan, f) =>
    assembleFeature(table, plan, f, defs, ks, orders, metric, pointValues, slotIndex),
  );
  const tests = plans.map((plan, f) => hypothesisTests(table, plan, nPermutations, options.seed + f));
  const adjusted = holmAdjust(tests.flat().map((t) => t.p_value));
  let next = 0;
  features.forEach((result, f) => {
    result.tests = tests[f].map((t) => {
      const p = adjusted[next++];
      return { ...t, p_value_holm: p, significant: p < alpha };
    });
  });
  return { features, nBoot: options.nBoot };
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function assembleFeature(
  table: ObservationTable,
  plan: FeaturePlan,
  f: number,
  defs: GroupMetricDef[],
  ks: number[],
  orders: RankingOrder[],
  metric: (key: Slot) => MetricValue,
  point: number[],
  slotIndex: Map<Slot, number>,
): FeatureResult {
  const { feature } = plan;
  const g = feature.groups.length;
  const eligibleSet = new Set(plan.eligible);
  const groups: GroupSummary[] = feature.groups.map((name, i) => ({
    name,
    count: plan.counts[i],
    share: plan.counts[i] / table.n,
    insufficient_data: !eligibleSet.has(i),
  }));
  const groupMetrics = (group: number | 'overall', count: number): GroupMetrics => {
    const result: Record<string, unknown> = { count };
    defs.forEach((def, m) => {
      const value = metric(slot.group(f, group, m));
      if (def.label === undefined) {
        result[def.field] = value;
      } else {
        const record = (result[def.field] ??= {}) as Record<string, MetricValue>;
        Object.defineProperty(record, def.label, { value, enumerable: true, writable: true, configurable: true });
      }
    });
    return result as unknown as GroupMetrics;
  };
  const by_group = Object.fromEntries(feature.groups.map((name, i) => [name, groupMetrics(i, plan.counts[i])]));
  const overall = groupMetrics('overall', table.n);
  if (table.truth && table.prediction && table.positive) {
    // The TPR and FPR denominators, so a verdict can say when a rate rests on too few labels.
    const inP = new Uint8Array(table.classes.length);
    for (const l of table.positive) inP[l] = 1;
    const positives = new Float64Array(g);
    for (let row = 0; row < table.n; row++) positives[feature.codes[row]] += inP[table.truth[row]];
    let total = 0;
    feature.groups.forEach((name, i) => {
      by_group[name].n_positive = positives[i];
      by_group[name].n_negative = plan.counts[i] - positives[i];
      total += positives[i];
    });
    overall.n_positive = total;
    overall.n_negative = table.n - total;
  }

  // Which groups a disparity is between, from the point estimates.
  const pointOf = (group: number, m: number): number => point[slotIndex.get(slot.group(f, group, m)) as number];
  const overallOf = (m: number): number => point[slotIndex.get(slot.group(f, 'overall', m)) as number];
  const located = (m: number) => disparities(plan.eligible.map((group) => pointOf(group, m)), overallOf(m));
  const name = (i: number): string => feature.groups[plan.eligible[i]];
  const between = (d: ReturnType<typeof disparities>): [string, string] | null => (d.maxIndex < 0 ? null : [name(d.maxIndex), name(d.minIndex)]);
  const toOverall = (d: ReturnType<typeof disparities>): [string, string] | null => (d.farthestIndex < 0 ? null : [name(d.farthestIndex), 'overall']);

  const result: Record<string, Disparity> = {};
  const rateCandidates: { metric: string; label?: string; difference: number; groups: [string, string] }[] = [];
  defs.forEach((def, m) => {
    const d = located(m);
    if (def.scalar) {
      result[`${def.field}_difference`] = { ...metric(slot.disparity(f, `${def.field}_difference`)), groups: between(d) };
      result[`${def.field}_ratio`] = { ...metric(slot.disparity(f, `${def.field}_ratio`)), groups: between(d) };
      result[`${def.field}_difference_to_overall`] = { ...metric(slot.disparity(f, `${def.field}_difference_to_overall`)), groups: toOverall(d) };
      result[`${def.field}_ratio_to_overall`] = { ...metric(slot.disparity(f, `${def.field}_ratio_to_overall`)), groups: toOverall(d) };
    }
    const groupsOf = between(d);
    if (RATE_FIELDS.has(def.field) && groupsOf && def.field !== 'error_rate') {
      rateCandidates.push({ metric: def.field, ...(def.label === undefined ? {} : { label: def.label }), difference: d.difference, groups: groupsOf });
    }
  });
  // Fairlearn-named disparities, located at the metric (and label) that attains them.
  const locate = (fields: string[], pick: 'difference' | 'ratio'): { groups: [string, string] | null; label?: string } => {
    let best: { v: number; groups: [string, string] | null; label?: string } | null = null;
    defs.forEach((def, m) => {
      if (!fields.includes(def.field)) return;
      const d = located(m);
      const v = d[pick];
      if (!Number.isFinite(v)) return;
      if (best === null || (pick === 'difference' ? v > best.v : v < best.v)) {
        best = { v, groups: between(d), ...(def.label === undefined ? {} : { label: def.label }) };
      }
    });
    const found = best as { v: number; groups: [string, string] | null; label?: string } | null;
    return found ? { groups: found.groups, ...(found.label === undefined ? {} : { label: found.label }) } : { groups: null };
  };
  if (table.prediction) {
    const fields = [table.positive ? 'selection_rate' : 'selection_rate_by_label'];
    result.demographic_parity_difference = { ...metric(slot.disparity(f, `demographic_parity_difference`)), ...locate(fields, 'difference') };
    result.demographic_parity_ratio = { ...metric(slot.disparity(f, `demographic_parity_ratio`)), ...locate(fields, 'ratio') };
  }
  if (table.prediction && table.truth) {
    const fields = table.positive ? ['tpr', 'fpr'] : ['tpr_by_label', 'fpr_by_label'];
    result.equalized_odds_difference = { ...metric(slot.disparity(f, `equalized_odds_difference`)), ...locate(fields, 'difference') };
    result.equalized_odds_ratio = { ...metric(slot.disparity(f, `equalized_odds_ratio`)), ...locate(fields, 'ratio') };
  }
  const largest = rateCandidates.reduce<(typeof rateCandidates)[number] | null>(
    (best, c) => (Number.isFinite(c.difference) && (best === null || c.difference > best.difference) ? c : best),
    null,
  );

  const featureResult: FeatureResult = {
    attribute: feature.name,
    components: feature.components,
    groups,
    eligible_groups: plan.eligible.map((i) => feature.groups[i]),
    by_group,
    overall,
    disparities: result,
    largest_disparity: largest,
    tests: [],
  };
  if (table.rankings.length > 0) {
    const shareTargets = Object.fromEntries(SKEW_TARGETS.map((t) => [t, targetShares(t, plan.counts)]));
    featureResult.skew = Object.fromEntries(
      table.rankings.map((ranking, r) => {
        const rankedGroups = Int32Array.from(topStrata(orders[r], null, feature.codes, ks[ks.length - 1]));
        const perK = ks.map((k) => {
          const topCounts = new Float64Array(g);
          for (let i = 0; i < Math.min(k, rankedGroups.length); i++) topCounts[rankedGroups[i]]++;
          const perTarget = Object.fromEntries(
            SKEW_TARGETS.map((target) => {
              const s = skewAtK(topCounts, k, shareTargets[target]);
              const entry: SkewAtKResult = {
                max_skew: { ...metric(slot.skew(f, r, k, target, 'max_skew')), group: feature.groups[s.maxGroup] },
                min_skew: { ...metric(slot.skew(f, r, k, target, 'min_skew')), group: feature.groups[s.minGroup] },
                ndkl: metric(slot.skew(f, r, k, target, 'ndkl')),
                top_k_counts: Object.fromEntries(feature.groups.map((name, i) => [name, topCounts[i]])),
              };
              return [target, entry];
            }),
          ) as Record<'uniform' | 'proportional', SkewAtKResult>;
          return [String(k), perTarget];
        });
        return [ranking.name, Object.fromEntries(perK)];
      }),
    );
  }
  return featureResult;
}

