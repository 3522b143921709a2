import { describe, expect, it } from 'vitest';
import { associationScores, associationTest, effectSizeFromScores } from '../../src/bias/metrics/association.js';
import { disaggregate, type ObservationTable } from '../../src/bias/metrics/disaggregate.js';
import { attributeFeature, intersectionFeature } from '../../src/bias/metrics/features.js';
import { ndkl, rankByScore, skewAtK, targetShares, topKCounts } from '../../src/bias/metrics/skew.js';
import { binomialCdf, binomialDraw, chiSquareIndependence, chiSquareSurvival, holmAdjust, quantileSorted, regularizedBeta } from '../../src/bias/metrics/stats.js';
import { SeededRandom } from '../../src/core/random.js';

describe('skew and NDKL (Berg et al. 2022 conventions)', () => {
  // Ranking A A A B B A B A A B over groups A=0 (6 items) and B=1 (4 items).
  const ranked = [0, 0, 0, 1, 1, 0, 1, 0, 0, 1];
  const uniform = targetShares('uniform', [6, 4]);
  const proportional = targetShares('proportional', [6, 4]);

  it('uses the natural log of top-k share over target share', () => {
    const s = skewAtK(topKCounts(ranked, 4, 2), 4, uniform);
    expect(s.max_skew).toBeCloseTo(Math.log(0.75 / 0.5), 12);
    expect(s.min_skew).toBeCloseTo(Math.log(0.25 / 0.5), 12);
    expect(s.maxGroup).toBe(0);
    expect(s.minGroup).toBe(1);
    const p = skewAtK(topKCounts(ranked, 4, 2), 4, proportional);
    expect(p.max_skew).toBeCloseTo(0.22314355131420976, 12);
    expect(p.min_skew).toBeCloseTo(-0.4700036292457356, 12);
  });

  it('counts a group absent from the top k as 1/k', () => {
    // top 2 is A A: B's share is smoothed to 1/2, which equals its uniform target: skew 0.
    const s = skewAtK(topKCounts(ranked, 2, 2), 2, uniform);
    expect(s.max_skew).toBeCloseTo(Math.log(2), 12);
    expect(s.min_skew).toBe(0);
  });

  it('NDKL@2 of an all-A start equals ln 2 under a uniform target', () => {
    // i=1 and i=2 both have shares (1, 0): KL = ln 2 at each step, so the discounted mean is ln 2.
    expect(ndkl(ranked, 2, uniform)).toBeCloseTo(Math.log(2), 12);
  });

  it('NDKL matches an independent step-by-step computation', () => {
    const rng = new SeededRandom(3);
    const groups = Array.from({ length: 200 }, () => rng.int(3));
    const target = [0.5, 0.3, 0.2];
    const k = 50;
    let numerator = 0;
    let z = 0;
    for (let i = 1; i <= k; i++) {
      const top = groups.slice(0, i);
      let kl = 0;
      for (let g = 0; g < 3; g++) {
        const share = top.filter((x) => x === g).length / i;
        if (share > 0) kl += share * Math.log(share / target[g]);
      }
      numerator += kl / (Math.log(i + 1) / Math.LN2);
      z += 1 / (Math.log(i + 1) / Math.LN2);
    }
    expect(ndkl(groups, k, Float64Array.from(target))).toBeCloseTo(numerator / z, 12);
  });

  it('NDKL@3 of the ranking A, A, B equals its hand-computed value, in ndkl() and in the bootstrap', () => {
    // i=1, 2: shares (1, 0), KL = ln 2; i=3: shares (2/3, 1/3), KL = 2/3 ln(4/3) + 1/3 ln(2/3).
    // Discounts 1/log2(2) = 1, 1/log2(3), 1/log2(4) = 1/2; Z = 1 + 1/log2(3) + 1/2.
    const log2 = (x: number) => Math.log(x) / Math.LN2;
    const kl3 = (2 / 3) * Math.log(4 / 3) + (1 / 3) * Math.log(2 / 3);
    const expected = (Math.log(2) + Math.log(2) / log2(3) + kl3 / 2) / (1 + 1 / log2(3) + 1 / 2);
    expect(ndkl([0, 0, 1], 3, Float64Array.from([0.5, 0.5]))).toBeCloseTo(expected, 14);
    // The same through the disaggregation's point estimate (rows ranked by score: a, a, b, then the rest).
    const table: ObservationTable = {
      n: 6,
      features: [attributeFeature('g', ['a', 'a', 'b', 'b', 'a', 'b'])],
      classes: [],
      values: [],
      rankings: [{ name: 's', scores: Float64Array.from([0.9, 0.8, 0.7, 0.1, 0.05, 0.01]) }],
    };
    const [feature] = disaggregate(table, { seed: 0, nBoot: 0, minGroupSize: 1, ks: [3] }).features;
    expect(feature.skew?.s['3'].uniform.ndkl.value).toBeCloseTo(expected, 14);
  });

  it('ranks by descending score, ties in input order, NaN last', () => {
    expect([...rankByScore([0.2, Number.NaN, 0.9, 0.2, 0.5])]).toEqual([2, 4, 0, 3, 1]);
  });
});

describe('statistics helpers', () => {
  it('chi-square survival matches known critical values', () => {
    expect(chiSquareSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 10);
    expect(chiSquareSurvival(5.991464547107979, 2)).toBeCloseTo(0.05, 10);
    expect(chiSquareSurvival(18.307038053275146, 10)).toBeCloseTo(0.05, 10);
    // df = 2 has the closed form exp(-x/2).
    expect(chiSquareSurvival(1.3, 2)).toBeCloseTo(Math.exp(-0.65), 12);
  });

  it('chi-square test of independence on a 2×2 table', () => {
    // Expected 12 18 / 28 42; each cell deviates by 2. With df = 1, Q = erfc(sqrt(x / 2)).
    const t = chiSquareIndependence(Float64Array.from([10, 20, 30, 40]), 2, 2);
    expect(t.statistic).toBeCloseTo(4 / 12 + 4 / 18 + 4 / 28 + 4 / 42, 12);
    expect(t.df).toBe(1);
    expect(t.p_value).toBeCloseTo(0.3729984, 6);
  });

  it('Holm adjustment', () => {
    expect(holmAdjust([0.01, 0.04, 0.03, 0.005])).toEqual([0.03, 0.06, 0.06, 0.02].map((x) => expect.closeTo(x, 12)));
  });

  it('regularized incomplete beta and binomial CDF', () => {
    // I_0.5(2, 3) = P(Binomial(4, 0.5) ≥ 2) = 11/16
    expect(regularizedBeta(0.5, 2, 3)).toBeCloseTo(11 / 16, 12);
    let cdf = 0;
    for (let k = 0; k <= 7; k++) {
      cdf += [1, 7, 21, 35, 35, 21, 7, 1][k] * 0.3 ** k * 0.7 ** (7 - k);
      expect(binomialCdf(k, 7, 0.3)).toBeCloseTo(cdf, 12);
    }
  });

  it('binomial draws invert the CDF exactly and have the right moments', () => {
    for (const [u, n, p] of [
      [0.001, 50, 0.2],
      [0.5, 10000, 0.3],
      [0.999, 10000, 0.3],
      [0.42, 3, 0.9],
    ]) {
      const k = binomialDraw(u, n, p);
      expect(binomialCdf(k, n, p)).toBeGreaterThanOrEqual(u);
      expect(binomialCdf(k - 1, n, p)).toBeLessThan(u);
    }
    const rng = new SeededRandom(8);
    const draws = Array.from({ length: 20000 }, () => binomialDraw(rng.next(), 1000, 0.3));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    const variance = draws.reduce((a, b) => a + (b - mean) ** 2, 0) / draws.length;
    expect(mean).toBeCloseTo(300, 0);
    expect(variance / 210).toBeGreaterThan(0.95);
    expect(variance / 210).toBeLessThan(1.05);
  });

  it('quantiles interpolate linearly like numpy', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
  });
});

describe('association test (WEAT / iEAT)', () => {
  it('effect size of a perfectly separated 2-D case', () => {
    const scores = associationScores([[1, 0], [0, 1]], [[1, 0]], [[0, 1]]);
    expect([...scores]).toEqual([1, -1]);
    expect(effectSizeFromScores(scores, 1)).toBeCloseTo(2 / Math.SQRT2, 12);
  });

  it('permutation p-value approaches the exact 1 / C(8,4)', () => {
    const x = [[1, 0.1], [1, 0.2], [1, 0.3], [1, 0.4]];
    const y = [[0.1, 1], [0.2, 1], [0.3, 1], [0.4, 1]];
    const scores = associationScores([...x, ...y], [[1, 0]], [[0, 1]]);
    const result = associationTest(scores, 4, 20000, 11);
    expect(result.p_value).toBeGreaterThan(1 / 70 - 0.004);
    expect(result.p_value).toBeLessThan(1 / 70 + 0.004);
    expect(result.effect_size).toBeGreaterThan(1.5);
    expect(associationTest(scores, 4, 2000, 11)).toEqual(associationTest(scores, 4, 2000, 11));
  });
});

function binaryTable(groups: string[], truth: number[], prediction: number[]): ObservationTable {
  return {
    n: groups.length,
    features: [attributeFeature('gender', groups)],
    classes: ['0', '1'],
    truth: Int32Array.from(truth),
    prediction: Int32Array.from(prediction),
    positive: [1],
    values: [],
    rankings: [],
  };
}

describe('disaggregate: MetricFrame semantics', () => {
  // F: truth 1 1 0 0, prediction 1 0 0 1 → selection .5, accuracy .5, tpr .5, fpr .5
  // M: truth 1 1 0 0, prediction 1 1 0 0 → selection .5, accuracy 1, tpr 1, fpr 0
  const table = binaryTable(['F', 'F', 'F', 'F', 'M', 'M', 'M', 'M'], [1, 1, 0, 0, 1, 1, 0, 0], [1, 0, 0, 1, 1, 1, 0, 0]);
  const [feature] = disaggregate(table, { seed: 1, nBoot: 0, minGroupSize: 1 }).features;

  it('per-group and overall metrics', () => {
    expect(feature.by_group.F.accuracy?.value).toBe(0.5);
    expect(feature.by_group.M.accuracy?.value).toBe(1);
    expect(feature.by_group.F.tpr?.value).toBe(0.5);
    expect(feature.by_group.M.fpr?.value).toBe(0);
    expect(feature.overall.accuracy?.value).toBe(0.75);
    expect(feature.overall.count).toBe(8);
    expect(feature.by_group.F.selection_rate_by_label?.['1'].value).toBe(0.5);
  });

  it('Fairlearn-named disparities', () => {
    const d = feature.disparities;
    expect(d.demographic_parity_difference.value).toBe(0);
    expect(d.demographic_parity_ratio.value).toBe(1);
    // Equal rates still name two different groups.
    expect(d.demographic_parity_difference.groups).toEqual(['F', 'M']);
    expect(d.equalized_odds_difference.value).toBe(0.5);
    expect(d.equalized_odds_ratio.value).toBe(0);
    expect(d.accuracy_difference).toMatchObject({ value: 0.5, groups: ['M', 'F'] });
    expect(d.accuracy_ratio.value).toBe(0.5);
    expect(d.accuracy_difference_to_overall.value).toBe(0.25);
    expect(d.accuracy_ratio_to_overall.value).toBeCloseTo(0.5 / 0.75, 12);
    expect(feature.largest_disparity).toMatchObject({ difference: 0.5, groups: ['M', 'F'] });
  });

  it('flags small groups and leaves them out of disparities', () => {
    const small = binaryTable(['F', 'F', 'F', 'M', 'M', 'M', 'X'], [1, 0, 1, 1, 0, 0, 1], [1, 0, 1, 1, 1, 0, 0]);
    const [f] = disaggregate(small, { seed: 1, nBoot: 0, minGroupSize: 2 }).features;
    expect(f.groups.find((g) => g.name === 'X')?.insufficient_data).toBe(true);
    expect(f.eligible_groups).toEqual(['F', 'M']);
    // X has accuracy 0 but is not compared: F 1, M 2/3.
    expect(f.disparities.accuracy_difference.value).toBeCloseTo(1 / 3, 12);
  });

  it('matches independently computed demographic parity on random data', () => {
    const rng = new SeededRandom(5);
    const n = 3000;
    const groups = Array.from({ length: n }, () => ['a', 'b', 'c'][rng.int(3)]);
    const truth = Array.from({ length: n }, () => rng.int(2));
    const prediction = groups.map((g) => (rng.next() < (g === 'a' ? 0.3 : g === 'b' ? 0.5 : 0.45) ? 1 : 0));
    const [f] = disaggregate(binaryTable(groups, truth, prediction), { seed: 1, nBoot: 0, minGroupSize: 30 }).features;
    const rates = ['a', 'b', 'c'].map((g) => {
      const idx = groups.flatMap((x, i) => (x === g ? [i] : []));
      return idx.filter((i) => prediction[i] === 1).length / idx.length;
    });
    expect(f.disparities.demographic_parity_difference.value).toBeCloseTo(Math.max(...rates) - Math.min(...rates), 12);
    expect(f.disparities.demographic_parity_ratio.value).toBeCloseTo(Math.min(...rates) / Math.max(...rates), 12);
    // selection rate test: the planted 0.3 vs 0.5 gap is highly significant
    expect(f.tests.find((t) => t.metric === 'selection_rate')?.p_value).toBeLessThan(1e-6);
  });

  it('intersections disaggregate by combined groups', () => {
    const gender = ['F', 'F', 'M', 'M'];
    const race = ['x', 'y', 'x', 'y'];
    const feature = intersectionFeature(['gender', 'race'], [gender, race]);
    expect(feature.name).toBe('gender × race');
    expect(feature.groups).toEqual(['F × x', 'F × y', 'M × x', 'M × y']);
  });
});

describe('stratified bootstrap', () => {
  const rng = new SeededRandom(9);
  const n = 2000;
  const groups = Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 'small' : 'large'));
  const truth = Array.from({ length: n }, () => rng.int(2));
  const prediction = truth.map((t, i) => (rng.next() < (groups[i] === 'small' ? 0.7 : 0.9) ? t : 1 - t));

  it('is reproducible from the seed and covers the normal-approximation interval', () => {
    const table = binaryTable(groups, truth, prediction);
    const a = disaggregate(table, { seed: 42, nBoot: 1000, minGroupSize: 30 }).features[0];
    const b = disaggregate(table, { seed: 42, nBoot: 1000, minGroupSize: 30 }).features[0];
    const c = disaggregate(table, { seed: 43, nBoot: 1000, minGroupSize: 30 }).features[0];
    expect(a).toEqual(b);
    expect(a.by_group.small.accuracy?.ci).not.toEqual(c.by_group.small.accuracy?.ci);
    const acc = a.by_group.small.accuracy;
    const p = acc?.value as number;
    const half = 1.96 * Math.sqrt((p * (1 - p)) / 500);
    const [lo, hi] = acc?.ci as [number, number];
    expect(lo).toBeGreaterThan(p - half * 1.25);
    expect(lo).toBeLessThan(p - half * 0.75);
    expect(hi).toBeGreaterThan(p + half * 0.75);
    expect(hi).toBeLessThan(p + half * 1.25);
    // The planted 0.2 accuracy gap: its interval excludes 0 and contains the point estimate.
    const gap = a.disparities.accuracy_difference;
    expect(gap.ci[0]).toBeGreaterThan(0.1);
    expect(gap.ci[0]! <= gap.value! && gap.value! <= gap.ci[1]!).toBe(true);
  });

  it('multinomial and per-row resampling give the same intervals', () => {
    const table = binaryTable(groups, truth, prediction);
    // A numeric column forces the per-row path; without it cells are drawn as multinomials.
    const perRow: ObservationTable = { ...table, values: [{ name: 'zero', data: new Float64Array(n) }] };
    const a = disaggregate(table, { seed: 1, nBoot: 2000, minGroupSize: 30, nPermutations: 0 }).features[0];
    const b = disaggregate(perRow, { seed: 2, nBoot: 2000, minGroupSize: 30, nPermutations: 0 }).features[0];
    for (const group of ['small', 'large']) {
      const [loA, hiA] = a.by_group[group].accuracy?.ci as [number, number];
      const [loB, hiB] = b.by_group[group].accuracy?.ci as [number, number];
      expect(Math.abs(loA - loB)).toBeLessThan(0.01);
      expect(Math.abs(hiA - hiB)).toBeLessThan(0.01);
    }
  });

  it('skew intervals agree between the row-walk and per-row resampling', () => {
    const noisy = new SeededRandom(4);
    const scores = Float64Array.from(groups, (g) => noisy.next() + (g === 'small' ? 0.2 : 0));
    const table: ObservationTable = { ...binaryTable(groups, truth, prediction), rankings: [{ name: 'q', scores }] };
    const perRow: ObservationTable = { ...table, values: [{ name: 'zero', data: new Float64Array(n) }] };
    const options = { minGroupSize: 30, nPermutations: 0, nBoot: 2000, ks: [100] };
    const a = disaggregate(table, { ...options, seed: 1 }).features[0].skew?.q['100'].uniform;
    const b = disaggregate(perRow, { ...options, seed: 2 }).features[0].skew?.q['100'].uniform;
    expect(a?.ndkl.value).toBe(b?.ndkl.value);
    for (const key of ['ndkl', 'max_skew'] as const) {
      expect(Math.abs((a?.[key].ci[0] as number) - (b?.[key].ci[0] as number))).toBeLessThan(0.03);
      expect(Math.abs((a?.[key].ci[1] as number) - (b?.[key].ci[1] as number))).toBeLessThan(0.03);
    }
  });

  it('gives skew metrics intervals and rankings top-k counts', () => {
    const scores = Float64Array.from(groups, (g, i) => (g === 'small' ? 1 : 0) + ((i * 7919) % 1000) / 1e4);
    const table: ObservationTable = { ...binaryTable(groups, truth, prediction), rankings: [{ name: 'q', scores }] };
    const [f] = disaggregate(table, { seed: 1, nBoot: 200, minGroupSize: 30, ks: [10, 100] }).features;
    const at100 = f.skew?.q['100'].uniform;
    // all top 100 are "small": skew = ln(1 / 0.5); "large" absent → ln((1/100) / 0.5)
    expect(at100?.max_skew).toMatchObject({ value: expect.closeTo(Math.log(2), 12), group: 'small' });
    expect(at100?.min_skew.value).toBeCloseTo(Math.log(0.01 / 0.5), 12);
    expect(at100?.top_k_counts).toEqual({ large: 0, small: 100 });
    expect(f.skew?.q['100'].proportional.max_skew.value).toBeCloseTo(Math.log(1 / 0.25), 12);
    expect(at100?.max_skew.ci[0]).toBeCloseTo(Math.log(2), 12);
  });
});
