/**
 * BCa intervals: the estimate lies inside its interval on skewed statistics (min/max aggregates,
 * NDKL), where percentile intervals can exclude it, and BCa agrees with an exact interval where one
 * is known better than the percentile interval does.
 */
import { describe, expect, it } from 'vitest';
import { disaggregate, type ObservationTable } from '../../src/bias/metrics/disaggregate.js';
import { attributeFeature } from '../../src/bias/metrics/features.js';
import { bcaInterval, chiSquareSurvival, jackknifeAcceleration, normalCdf, normalQuantile, percentileInterval } from '../../src/bias/metrics/stats.js';
import type { FeatureResult, MetricValue } from '../../src/bias/result.js';
import { SeededRandom } from '../../src/core/random.js';

/** Every {value, ci} in a feature result. */
function metricValues(feature: FeatureResult): [string, MetricValue][] {
  const out: [string, MetricValue][] = [];
  const visit = (path: string, node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    const m = node as MetricValue;
    if ('value' in m && 'ci' in m && Array.isArray(m.ci)) out.push([path, m]);
    for (const [key, child] of Object.entries(node)) visit(`${path}.${key}`, child);
  };
  visit('', { by_group: feature.by_group, overall: feature.overall, disparities: feature.disparities, skew: feature.skew });
  return out;
}

function chiSquareQuantile(p: number, df: number): number {
  let lo = 0;
  let hi = 10 * df + 100;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (1 - chiSquareSurvival(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

describe('normal distribution helpers', () => {
  it('match tabulated values', () => {
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 12);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316301, 14);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 10);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424308822899, 8);
  });
});

describe('BCa bootstrap intervals', () => {
  it('are closer than percentile intervals to the exact interval of an exponential mean', () => {
    // Mean of n exponential draws: the exact 95% interval is mean·2n/χ²(2n) quantiles.
    const rng = new SeededRandom(11);
    const n = 25;
    const x = Float64Array.from({ length: n }, () => -Math.log(1 - rng.next()));
    const mean = x.reduce((a, b) => a + b, 0) / n;
    const exact = [(mean * 2 * n) / chiSquareQuantile(0.975, 2 * n), (mean * 2 * n) / chiSquareQuantile(0.025, 2 * n)];
    const b = 4000;
    const replicates = new Float64Array(b);
    for (let r = 0; r < b; r++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += x[rng.int(n)];
      replicates[r] = sum / n;
    }
    const jackknife = Float64Array.from(x, (xi) => (mean * n - xi) / (n - 1));
    const a = jackknifeAcceleration(jackknife, 0, 1, n);
    expect(a).toBeGreaterThan(0); // right-skewed data: positive acceleration
    const bca = bcaInterval(mean, replicates, 0, 1, b, 0.95, a);
    const percentile = percentileInterval(replicates, 0, 1, b, 0.95);
    const error = (ci: [number, number]) => Math.abs(ci[0] - exact[0]) + Math.abs(ci[1] - exact[1]);
    expect(error(bca)).toBeLessThan(error(percentile));
    expect(bca[1]).toBeGreaterThan(percentile[1]); // the long right tail is honoured
  });

  it('contain the estimate where the percentile interval does not (a maximum over groups)', () => {
    // The max of thirty equal group means: every replicate's max is biased upward, so the percentile
    // interval of the max sits above the estimate.
    const rng = new SeededRandom(5);
    const groups = 30;
    const size = 10;
    const data = Array.from({ length: groups }, () => Float64Array.from({ length: size }, () => rng.next()));
    const maxOfMeans = (sample: Float64Array[]) => Math.max(...sample.map((g) => g.reduce((a, b) => a + b, 0) / g.length));
    const estimate = maxOfMeans(data);
    const b = 2000;
    const replicates = new Float64Array(b);
    for (let r = 0; r < b; r++) replicates[r] = maxOfMeans(data.map((g) => Float64Array.from(g, () => g[rng.int(size)])));
    const percentile = percentileInterval(replicates, 0, 1, b, 0.8);
    expect(percentile[0]).toBeGreaterThan(estimate); // the failure BCa exists to fix
    const bca = bcaInterval(estimate, replicates, 0, 1, b, 0.8, 0);
    expect(bca[0]).toBeLessThanOrEqual(estimate);
    expect(bca[1]).toBeGreaterThanOrEqual(estimate);
  });

  it('contain every estimate of a disaggregation on small, skewed groups (ratios, min/max, NDKL)', () => {
    const rng = new SeededRandom(3);
    const n = 400;
    const group = Array.from({ length: n }, (_, i) => `g${i % 8}`);
    const truth = Int32Array.from({ length: n }, () => (rng.next() < 0.2 ? 1 : 0));
    const prediction = Int32Array.from(truth, (t) => (rng.next() < 0.85 ? t : 1 - t));
    const score = Float64Array.from({ length: n }, (_, i) => rng.next() ** 3 + (i % 8) * 0.02);
    const table: ObservationTable = {
      n,
      features: [attributeFeature('group', group)],
      classes: ['0', '1'],
      truth,
      prediction,
      positive: [1],
      values: [{ name: 'score', data: score }],
      rankings: [{ name: 'score', scores: score }],
    };
    const [feature] = disaggregate(table, { seed: 1, nBoot: 500, minGroupSize: 10, ks: [5, 20, 60] }).features;
    const values = metricValues(feature).filter(([, m]) => m.value !== null && m.ci[0] !== null);
    expect(values.length).toBeGreaterThan(100);
    for (const [path, m] of values) {
      expect(m.ci[0]! <= m.value! && m.value! <= m.ci[1]!, `${path}: ${m.value} [${m.ci[0]}, ${m.ci[1]}]`).toBe(true);
    }
    expect(values.some(([path]) => path.includes('ndkl'))).toBe(true);
  });
});

describe('bootstrap of numeric columns from sufficient statistics', () => {
  it('gives the same intervals as row-by-row resampling, within Monte Carlo error', () => {
    const rng = new SeededRandom(9);
    const n = 20000;
    const group = Array.from({ length: n }, (_, i) => `g${i % 4}`);
    const prediction = Int32Array.from({ length: n }, () => (rng.next() < 0.4 ? 1 : 0));
    const score = Float64Array.from({ length: n }, (_, i) => -Math.log(1 - rng.next()) * (1 + (i % 4) * 0.1));
    const table: ObservationTable = {
      n,
      features: [attributeFeature('group', group)],
      classes: ['0', '1'],
      prediction,
      positive: [1],
      values: [{ name: 'score', data: score }],
      rankings: [{ name: 'score', scores: score }],
    };
    const options = { seed: 4, nBoot: 400, minGroupSize: 10, ks: [10, 100], nPermutations: 0 };
    const [rows] = disaggregate(table, { ...options, resampling: 'rows' }).features;
    const [stats] = disaggregate(table, { ...options, resampling: 'statistics' }).features;
    for (const g of ['g0', 'g3']) {
      const a = rows.by_group[g].mean_score;
      const b = stats.by_group[g].mean_score;
      expect(b.value).toBe(a.value);
      const width = a.ci[1]! - a.ci[0]!;
      expect(Math.abs(b.ci[0]! - a.ci[0]!)).toBeLessThan(0.15 * width);
      expect(Math.abs(b.ci[1]! - a.ci[1]!)).toBeLessThan(0.15 * width);
    }
    const skewRows = rows.skew!.score['100'].uniform.max_skew;
    const skewStats = stats.skew!.score['100'].uniform.max_skew;
    expect(skewStats.value).toBe(skewRows.value);
    expect(Math.abs(skewStats.ci[0]! - skewRows.ci[0]!)).toBeLessThan(0.1);
  });
});
