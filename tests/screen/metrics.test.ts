import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  bootstrapMetrics,
  computeMetrics,
  equalErrorRate,
  rocAuc,
  thresholdForFpr,
  tprAtFpr,
} from '../../src/screen/metrics.js';
import { fitLogistic, fitLogisticCv, fitPlatt, applyPlatt, predictProbability, stratifiedFolds } from '../../src/screen/logistic.js';
import { SeededRandom } from '../../src/core/random.js';

describe('detection metrics', () => {
  it('AUC is the probability a fake outscores a real, ties counting half', () => {
    expect(rocAuc({ real: [0.1, 0.2], fake: [0.3, 0.4] })).toBe(1);
    expect(rocAuc({ real: [0.3, 0.4], fake: [0.1, 0.2] })).toBe(0);
    // fake>real pairs: 0.2>0.1 only, 1 of 4
    expect(rocAuc({ real: [0.1, 0.3], fake: [0.2, 0.05] })).toBe(0.25);
    expect(rocAuc({ real: [0.5], fake: [0.5] })).toBe(0.5);
  });

  it('average precision follows the step definition', () => {
    // ranked: fake(0.9) real(0.8) fake(0.7): precision 1 at recall .5, 2/3 at recall 1
    expect(averagePrecision({ real: [0.8], fake: [0.9, 0.7] })).toBeCloseTo(0.5 * 1 + 0.5 * (2 / 3), 12);
  });

  it('EER is 0 for separable scores and 0.5 for identical ones', () => {
    expect(equalErrorRate({ real: [0.1, 0.2, 0.3], fake: [0.7, 0.8] })).toBe(0);
    expect(equalErrorRate({ real: [0.5, 0.5], fake: [0.5, 0.5] })).toBeCloseTo(0.5, 12);
  });

  it('TPR at a fixed FPR reads the ROC step', () => {
    const real = Array.from({ length: 100 }, (_, i) => i / 100); // 0 .. 0.99
    const fake = [0.995, 0.985, 0.5, 0.1];
    expect(tprAtFpr({ real, fake }, 0.01)).toBe(0.5); // only 0.995 and 0.985 beat all but one real
    expect(tprAtFpr({ real, fake }, 0)).toBe(0.25);
  });

  it('the FPR threshold lets through at most floor(fpr × n) real scores', () => {
    const real = Array.from({ length: 200 }, (_, i) => i);
    const t = thresholdForFpr(real, 0.05);
    expect(real.filter((s) => s > t).length).toBe(10);
    expect(computeMetrics({ real, fake: [1000] }, t).fpr_at_threshold).toBe(0.05);
    expect(() => thresholdForFpr([], 0.1)).toThrow(/real scores/);
    expect(() => thresholdForFpr([1], 1.5)).toThrow(/target FPR/);
  });

  it('bootstrap CIs bracket the estimate and repeat exactly for a seed', () => {
    const random = new SeededRandom(3);
    const real = Array.from({ length: 60 }, () => random.normal());
    const fake = Array.from({ length: 60 }, () => random.normal() + 1);
    const a = bootstrapMetrics({ real, fake }, 0.5, { resamples: 300, confidence: 0.95, seed: 7 });
    const b = bootstrapMetrics({ real, fake }, 0.5, { resamples: 300, confidence: 0.95, seed: 7 });
    expect(a).toEqual(b);
    expect(a.auc.ci[0]).toBeLessThan(a.auc.value);
    expect(a.auc.ci[1]).toBeGreaterThan(a.auc.value);
    expect(a.auc.value).toBeGreaterThan(0.65);
    expect(() => bootstrapMetrics({ real, fake }, 0.5, { resamples: 0, confidence: 0.95, seed: 1 })).toThrow(/bootstrap resamples/);
  });

  it('the one-pass metrics agree with the rank-based AUC, including ties', () => {
    const random = new SeededRandom(5);
    const real = Array.from({ length: 80 }, () => Math.round(random.normal() * 4) / 4);
    const fake = Array.from({ length: 50 }, () => Math.round((random.normal() + 0.8) * 4) / 4);
    const m = computeMetrics({ real, fake }, 0.5);
    expect(m.auc).toBeCloseTo(rocAuc({ real, fake }), 12);
    expect(m.ap).toBeCloseTo(averagePrecision({ real, fake }), 12);
    expect(m.eer).toBeCloseTo(equalErrorRate({ real, fake }), 12);
    expect(m.tpr_at_5pct_fpr).toBe(tprAtFpr({ real, fake }, 0.05));
  });

  it('needs both classes', () => {
    expect(() => rocAuc({ real: [], fake: [1] })).toThrow(/at least one real/);
  });
});

describe('logistic regression', () => {
  const random = new SeededRandom(11);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 200; i++) {
    const label = i % 2;
    x.push([random.normal() + (label ? 1.5 : -1.5), random.normal() * 10]);
    y.push(label);
  }

  it('learns the informative feature and ignores the noisy one', () => {
    const model = fitLogistic({ x, y }, 1);
    expect(model.weights[0]).toBeGreaterThan(1);
    expect(Math.abs(model.weights[1])).toBeLessThan(0.5);
    expect(predictProbability(model, [3, 0])).toBeGreaterThan(0.95);
    expect(predictProbability(model, [-3, 0])).toBeLessThan(0.05);
  });

  it('stronger regularisation shrinks the weights', () => {
    expect(Math.abs(fitLogistic({ x, y }, 0.001).weights[0])).toBeLessThan(Math.abs(fitLogistic({ x, y }, 1).weights[0]));
  });

  it('cross-validation picks a C from the grid and gives out-of-fold scores for every row', () => {
    const fit = fitLogisticCv({ x, y }, { folds: 5, seed: 1, cGrid: [0.0001, 1] });
    expect(fit.model.c).toBe(1);
    expect(fit.outOfFold).toHaveLength(200);
    expect(rocAuc({ real: fit.outOfFold.filter((_, i) => y[i] === 0), fake: fit.outOfFold.filter((_, i) => y[i] === 1) })).toBeGreaterThan(0.95);
  });

  it('stratified folds keep the classes balanced', () => {
    const folds = stratifiedFolds(y, 4, 2);
    for (let f = 0; f < 4; f++) expect(y.filter((v, i) => folds[i] === f && v === 1).length).toBe(25);
  });

  it('Platt calibration maps decision values monotonically to probabilities', () => {
    const decisions = x.map((row) => row[0]);
    const platt = fitPlatt(decisions, y);
    expect(platt.a).toBeGreaterThan(0);
    expect(applyPlatt(platt, 2)).toBeGreaterThan(applyPlatt(platt, 0));
  });

  it('rejects one-class training data', () => {
    expect(() => fitLogistic({ x: [[1], [2]], y: [0, 0] }, 1)).toThrow(/both real and synthetic/);
  });
});
