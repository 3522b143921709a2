import { invalidArgument } from './errors.js';

/**
 * Exact (Clopper-Pearson) binomial confidence interval for a rate of k events in n trials, by
 * bisection on the binomial tail (no special functions needed).
 */
export function binomialInterval(k: number, n: number, confidence: number): [number, number] {
  if (!(Number.isInteger(n) && n > 0 && Number.isInteger(k) && k >= 0 && k <= n)) throw invalidArgument('binomial counts', '0 <= k <= n, n > 0', `${k} of ${n}`);
  if (!(confidence > 0 && confidence < 1)) throw invalidArgument('confidence', 'a number in (0, 1)', confidence);
  const alpha = (1 - confidence) / 2;
  /** P(X >= from) for X ~ Binomial(n, p), summed in log space; increasing in p. */
  const tail = (from: number, p: number): number => {
    let total = 0;
    let logCoef = 0;
    for (let i = 0; i <= n; i++) {
      if (i > 0) logCoef += Math.log((n - i + 1) / i);
      if (i >= from) total += Math.exp(logCoef + i * Math.log(Math.max(p, 1e-300)) + (n - i) * Math.log(Math.max(1 - p, 1e-300)));
    }
    return total;
  };
  /** p in [0, 1] where the increasing f(p) reaches target (bisection). */
  const solve = (f: (p: number) => number, target: number): number => {
    let lo = 0;
    let hi = 1;
    for (let iter = 0; iter < 60; iter++) {
      const mid = (lo + hi) / 2;
      if (f(mid) < target) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  const lower = k === 0 ? 0 : solve((p) => tail(k, p), alpha);
  // Upper: P(X <= k) = alpha, i.e. P(X >= k + 1) = 1 - alpha.
  const upper = k === n ? 1 : solve((p) => tail(k + 1, p), 1 - alpha);
  return [lower, upper];
}
