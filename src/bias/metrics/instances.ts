/**
 * Disaggregated detection and segmentation metrics: per-instance outcomes (a person detected or
 * missed, its mask IoU) grouped by the instance's sensitive attributes, with bootstrap intervals
 * that resample IMAGES, not instances: the persons of one image share its detector run, lighting
 * and clutter, so they are not independent, and resampling boxes would make intervals too narrow.
 *
 * Everything else is the shared machinery of the other audits: features and intersections
 * (features.ts), between-group and to-overall disparities with Fairlearn's semantics
 * (disaggregate.ts `disparities`), BCa intervals, chi-square tests and Holm's correction
 * (stats.ts), the same FeatureResult shape, so thresholds, verdicts and reports read them as they
 * read any audit.
 */
import { SeededRandom } from '../../core/random.js';
import type { Disparity, FeatureResult, GroupMetrics, MetricValue } from '../result.js';
import { accumulate, averagePrecision, prepareAccumulation, type ImageEvaluation, type PreparedAccumulation } from './coco.js';
import { disparities } from './disaggregate.js';
import type { Feature } from './features.js';
import { permutationTestOfGroupMeans, type RawTest } from './hypothesis.js';
import { bcaInterval, chiSquareIndependence, holmAdjust, jackknifeAcceleration } from './stats.js';

/** A group's metrics in a detection or segmentation audit (the fields beside `count`). */
export interface InstanceGroupMetrics extends GroupMetrics {
  /** Share of the group's instances found (IoU >= the audit's iou, score >= its threshold). */
  recall?: MetricValue;
  /** 1 − recall. */
  miss_rate?: MetricValue;
  /** COCO AP@[.5:.95] with the other groups' instances ignored. */
  ap?: MetricValue;
  ap50?: MetricValue;
  ap75?: MetricValue;
  /** False positives per image, over the images that show the group. */
  fp_per_image?: MetricValue;
}

/** Per-instance outcomes, each instance belonging to one image. */
export interface InstanceTable {
  nImages: number;
  /** Image index of every instance. */
  image: Int32Array;
  features: Feature[];
  /** 1 when the instance was found (recall, miss_rate). */
  detected?: Uint8Array;
  /** Mask IoU of every instance (mean_mask_iou). */
  maskIou?: Float64Array;
  /** False positives per image (fp_per_image: over the images holding an instance of the group). */
  falsePositives?: Float64Array;
  /**
   * COCO image evaluations of the audited category where only the instances flagged in `member`
   * count as ground truth (the others are ignored, as crowd regions are); null: no AP metrics.
   */
  apEvaluations?: (member: Uint8Array | null) => (ImageEvaluation | null)[];
  maxDets?: number;
}

export interface InstanceOptions {
  seed: number;
  nBoot: number;
  minGroupSize: number;
  ciLevel?: number;
  alpha?: number;
  nPermutations?: number;
  onReplicate?: () => void;
}

/** The scalar metrics an instance table yields, in order. */
export function instanceMetrics(table: InstanceTable): string[] {
  return [
    ...(table.detected ? ['recall', 'miss_rate'] : []),
    ...(table.apEvaluations ? ['ap', 'ap50', 'ap75'] : []),
    ...(table.falsePositives ? ['fp_per_image'] : []),
    ...(table.maskIou ? ['mean_mask_iou'] : []),
  ];
}

/** Per-image sufficient statistics of one group (or all instances). */
interface GroupStats {
  instances: Float64Array;
  hits: Float64Array;
  iouSum: Float64Array;
  /** AP evaluations with the other groups' instances ignored. */
  evaluations: PreparedAccumulation | null;
}

function groupStats(table: InstanceTable, member: Uint8Array | null): GroupStats {
  const instances = new Float64Array(table.nImages);
  const hits = new Float64Array(table.nImages);
  const iouSum = new Float64Array(table.nImages);
  for (let k = 0; k < table.image.length; k++) {
    if (member && member[k] === 0) continue;
    const i = table.image[k];
    instances[i]++;
    if (table.detected) hits[i] += table.detected[k];
    if (table.maskIou) iouSum[i] += table.maskIou[k];
  }
  return { instances, hits, iouSum, evaluations: table.apEvaluations ? prepareAccumulation(table.apEvaluations(member), table.maxDets ?? 100) : null };
}

/** Every metric of one group for image weights (null: each image once). */
function groupValues(table: InstanceTable, stats: GroupStats, weights: Int32Array | null, out: number[]): void {
  let n = 0;
  let hits = 0;
  let iou = 0;
  let images = 0;
  let fp = 0;
  for (let i = 0; i < table.nImages; i++) {
    const w = weights ? weights[i] : 1;
    if (w === 0) continue;
    n += w * stats.instances[i];
    hits += w * stats.hits[i];
    iou += w * stats.iouSum[i];
    if (stats.instances[i] > 0) {
      images += w;
      if (table.falsePositives) fp += w * table.falsePositives[i];
    }
  }
  const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
  if (table.detected) out.push(ratio(hits, n), ratio(n - hits, n));
  if (stats.evaluations) {
    const acc = [accumulate(stats.evaluations, table.maxDets ?? 100, weights ?? undefined)];
    const defined = (v: number) => (v < 0 ? Number.NaN : v);
    out.push(defined(averagePrecision(acc)), defined(averagePrecision(acc, 0.5)), defined(averagePrecision(acc, 0.75)));
  }
  if (table.falsePositives) out.push(ratio(fp, images));
  if (table.maskIou) out.push(ratio(iou, n));
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** Per-group and overall metrics, disparities, image-bootstrap intervals and Holm-corrected tests. */
export function disaggregateInstances(table: InstanceTable, options: InstanceOptions): FeatureResult[] {
  const ciLevel = options.ciLevel ?? 0.95;
  const alpha = options.alpha ?? 0.05;
  const metrics = instanceMetrics(table);
  const m = metrics.length;
  const overallStats = groupStats(table, null);
  const plans = table.features.map((feature) => {
    const counts = new Float64Array(feature.groups.length);
    for (const code of feature.codes) counts[code]++;
    const eligible = feature.groups.map((_, g) => g).filter((g) => counts[g] >= options.minGroupSize);
    const stats = feature.groups.map((_, g) => groupStats(table, Uint8Array.from(feature.codes, (code) => (code === g ? 1 : 0))));
    return { feature, counts, eligible, stats };
  });
  // One replicate: metric values of every group of every feature, then the overall values.
  const evaluateAll = (weights: Int32Array | null): number[] => {
    const out: number[] = [];
    groupValues(table, overallStats, weights, out);
    for (const plan of plans) for (const stats of plan.stats) groupValues(table, stats, weights, out);
    return out;
  };
  // Disparity slots: per feature, per metric, 4 values. The groups a disparity is between are
  // fixed by the point estimate; each replicate measures the gap between those same groups (so the
  // interval of "lighter − darker" can include zero, unlike a max − min recomputed per replicate).
  type Located = { max: number; min: number; far: number };
  let located: Located[] = [];
  const ratio = (a: number, b: number) => (a === 0 && b === 0 ? 1 : a / b);
  const disparitySlots = (values: number[], locate: boolean): number[] => {
    const out: number[] = [];
    let offset = m;
    let slot = 0;
    for (const plan of plans) {
      for (let j = 0; j < m; j++, slot++) {
        const eligibleValues = plan.eligible.map((g) => values[offset + g * m + j]);
        const overall = values[j];
        if (locate) {
          const d = disparities(eligibleValues, overall);
          located[slot] = { max: d.maxIndex, min: d.minIndex, far: d.farthestIndex };
          out.push(d.difference, d.ratio, d.differenceToOverall, d.ratioToOverall);
          continue;
        }
        const { max, min, far } = located[slot];
        if (max < 0) {
          out.push(Number.NaN, Number.NaN, Number.NaN, Number.NaN);
          continue;
        }
        const hi = eligibleValues[max];
        const lo = eligibleValues[min];
        const v = eligibleValues[far];
        out.push(hi - lo, ratio(lo, hi), Math.abs(v - overall), ratio(Math.min(v, overall), Math.max(v, overall)));
      }
      offset += plan.feature.groups.length * m;
    }
    return out;
  };
  const point = evaluateAll(null);
  located = [];
  const pointDisparities = disparitySlots(point, true);
  const slots = point.length + pointDisparities.length;
  const replicates = new Float64Array(options.nBoot * slots);
  const rng = new SeededRandom(options.seed);
  const weights = new Int32Array(table.nImages);
  for (let b = 0; b < options.nBoot; b++) {
    weights.fill(0);
    for (let i = 0; i < table.nImages; i++) weights[rng.int(table.nImages)]++;
    const values = evaluateAll(weights);
    const all = [...values, ...disparitySlots(values, false)];
    replicates.set(all, b * slots);
    options.onReplicate?.();
  }
  // BCa intervals, as the other audits use; the acceleration comes from a delete-a-block jackknife
  // over images (images i ≡ j mod blocks left out), the same unit the bootstrap resamples.
  const blocks = Math.min(table.nImages, 20);
  const jackknife = new Float64Array(blocks * slots);
  for (let j = 0; j < blocks; j++) {
    weights.fill(1);
    for (let i = j; i < table.nImages; i += blocks) weights[i] = 0;
    const values = evaluateAll(weights);
    jackknife.set([...values, ...disparitySlots(values, false)], j * slots);
  }
  const pointAll = [...point, ...pointDisparities];
  const metricAt = (slot: number, value: number): MetricValue => {
    const ci =
      options.nBoot > 0
        ? bcaInterval(pointAll[slot], replicates, slot, slots, options.nBoot, ciLevel, jackknifeAcceleration(jackknife, slot, slots, blocks))
        : [Number.NaN, Number.NaN];
    return { value: finiteOrNull(value), ci: [finiteOrNull(ci[0]), finiteOrNull(ci[1])] };
  };
  const groupMetrics = (offset: number, count: number): GroupMetrics => {
    const result: Record<string, unknown> = { count };
    metrics.forEach((name, j) => (result[name] = metricAt(offset + j, point[offset + j])));
    return result as unknown as GroupMetrics;
  };

  let offset = m;
  let disparityOffset = point.length;
  const rawTests: { feature: number; test: RawTest }[] = [];
  const results = plans.map((plan, f) => {
    const { feature } = plan;
    const eligibleSet = new Set(plan.eligible);
    const byGroup = Object.fromEntries(feature.groups.map((name, g) => [name, groupMetrics(offset + g * m, plan.counts[g])]));
    const disparitiesOut: Record<string, Disparity> = {};
    let largest: FeatureResult['largest_disparity'] = null;
    metrics.forEach((name, j) => {
      const eligibleValues = plan.eligible.map((g) => point[offset + g * m + j]);
      const d = disparities(eligibleValues, point[j]);
      const groupName = (i: number) => feature.groups[plan.eligible[i]];
      const between: [string, string] | null = d.maxIndex < 0 ? null : [groupName(d.maxIndex), groupName(d.minIndex)];
      const toOverall: [string, string] | null = d.farthestIndex < 0 ? null : [groupName(d.farthestIndex), 'overall'];
      const base = disparityOffset + j * 4;
      const at = (k: number) => metricAt(base + k, pointDisparities[base - point.length + k]);
      disparitiesOut[`${name}_difference`] = { ...at(0), groups: between };
      disparitiesOut[`${name}_ratio`] = { ...at(1), groups: between };
      disparitiesOut[`${name}_difference_to_overall`] = { ...at(2), groups: toOverall };
      disparitiesOut[`${name}_ratio_to_overall`] = { ...at(3), groups: toOverall };
      if ((name === 'recall' || name === 'miss_rate') && between && Number.isFinite(d.difference) && (largest === null || d.difference > largest.difference)) {
        largest = { metric: name, difference: d.difference, groups: between };
      }
    });
    if (table.detected && plan.eligible.length >= 2) {
      const index = new Int32Array(feature.groups.length).fill(-1);
      plan.eligible.forEach((g, i) => (index[g] = i));
      const contingency = new Float64Array(plan.eligible.length * 2);
      feature.codes.forEach((code, k) => {
        if (index[code] >= 0) contingency[index[code] * 2 + (table.detected as Uint8Array)[k]]++;
      });
      const t = chiSquareIndependence(contingency, plan.eligible.length, 2);
      rawTests.push({ feature: f, test: { metric: 'recall', method: 'chi_square', statistic: t.statistic, df: t.df, p_value: t.p_value } });
    }
    if (table.maskIou && plan.eligible.length >= 2) {
      rawTests.push({ feature: f, test: permutationTest(table.maskIou, feature.codes, plan.eligible, options.nPermutations ?? 1000, options.seed + 7919 * (f + 1)) });
    }
    const result: FeatureResult = {
      attribute: feature.name,
      components: feature.components,
      groups: feature.groups.map((name, g) => ({ name, count: plan.counts[g], share: plan.counts[g] / feature.codes.length, insufficient_data: !eligibleSet.has(g) })),
      eligible_groups: plan.eligible.map((g) => feature.groups[g]),
      by_group: byGroup,
      overall: groupMetrics(0, table.image.length),
      disparities: disparitiesOut,
      largest_disparity: largest,
      tests: [],
    };
    offset += feature.groups.length * m;
    disparityOffset += m * 4;
    return result;
  });
  const adjusted = holmAdjust(rawTests.map((t) => t.test.p_value));
  rawTests.forEach(({ feature, test }, i) => results[feature].tests.push({ ...test, p_value_holm: adjusted[i], significant: adjusted[i] < alpha }));
  return results;
}

/** The permutation test of equal group means, over the instances of the eligible groups with a finite value. */
function permutationTest(values: Float64Array, codes: Int32Array, eligible: number[], nPermutations: number, seed: number): RawTest {
  const index = new Map(eligible.map((g, i) => [g, i]));
  const kept: number[] = [];
  const labels: number[] = [];
  codes.forEach((code, k) => {
    const i = index.get(code);
    if (i !== undefined && Number.isFinite(values[k])) {
      kept.push(values[k]);
      labels.push(i);
    }
  });
  return permutationTestOfGroupMeans(Float64Array.from(kept), Int32Array.from(labels), eligible.length, nPermutations, seed, 'mask_iou');
}
