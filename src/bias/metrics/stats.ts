/**
 * Small statistics helpers shared by the bias metrics: percentile intervals over bootstrap
 * replicates, the chi-square survival function and Holm's step-down correction.
 */

/**
 * Linear-interpolation quantile of sorted finite values (numpy's default "linear" method), so
 * intervals match what a reviewer gets from `np.percentile` on the same replicates.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = (n - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, n - 1);
  const fraction = position - lower;
  return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction;
}

/** The finite values among `values[offset + i*stride]`, i < count, sorted ascending. */
function sortedFinite(values: Float64Array, offset: number, stride: number, count: number): Float64Array {
  const finite = new Float64Array(count);
  let m = 0;
  for (let i = 0; i < count; i++) {
    const v = values[offset + i * stride];
    if (Number.isFinite(v)) finite[m++] = v;
  }
  return finite.subarray(0, m).sort();
}

/**
 * Percentile interval of the finite values among `values[offset + i*stride]`, i < count.
 * Non-finite replicates (a rate with an empty denominator) are left out; when none are finite the
 * interval is [NaN, NaN].
 */
export function percentileInterval(
  values: Float64Array,
  offset: number,
  stride: number,
  count: number,
  level: number,
): [number, number] {
  const sorted = sortedFinite(values, offset, stride, count);
  const alpha = (1 - level) / 2;
  return [quantileSorted(sorted, alpha), quantileSorted(sorted, 1 - alpha)];
}

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 coefficients; ~1e-15 relative error). */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Upper regularized incomplete gamma Q(a, x): series below a + 1, continued fraction above. */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefix = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(logPrefix));
  }
  // Lentz's method for the continued fraction of Γ(a, x).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(logPrefix) * h;
}

/** P(X ≥ statistic) for X ~ χ²(df). */
export function chiSquareSurvival(statistic: number, df: number): number {
  if (!(df > 0)) return Number.NaN;
  return gammaQ(df / 2, statistic / 2);
}

export interface ChiSquareResult {
  statistic: number;
  df: number;
  p_value: number;
}

/**
 * Pearson's chi-square test of independence on a contingency table (rows × columns, row-major).
 * Rows and columns whose totals are zero are dropped first, since they carry no information and
 * would make expected counts zero.
 */
export function chiSquareIndependence(table: Float64Array, rows: number, columns: number): ChiSquareResult {
  const rowTotals = new Float64Array(rows);
  const columnTotals = new Float64Array(columns);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const v = table[r * columns + c];
      rowTotals[r] += v;
      columnTotals[c] += v;
      total += v;
    }
  }
  const liveRows = [...rowTotals.keys()].filter((r) => rowTotals[r] > 0);
  const liveColumns = [...columnTotals.keys()].filter((c) => columnTotals[c] > 0);
  const df = (liveRows.length - 1) * (liveColumns.length - 1);
  if (df <= 0) return { statistic: 0, df: 0, p_value: 1 };
  let statistic = 0;
  for (const r of liveRows) {
    for (const c of liveColumns) {
      const expected = (rowTotals[r] * columnTotals[c]) / total;
      const diff = table[r * columns + c] - expected;
      statistic += (diff * diff) / expected;
    }
  }
  return { statistic, df, p_value: chiSquareSurvival(statistic, df) };
}

/**
 * Holm's step-down adjustment: p-values sorted ascending are multiplied by (m − rank + 1) and made
 * monotone; controls the family-wise error rate without independence assumptions.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = [...pValues.keys()].sort((a, b) => pValues[a] - pValues[b]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[index]));
    adjusted[index] = running;
  });
  return adjusted;
}

/** Mean and sample standard deviation (n − 1). */
export function meanAndSampleStd(values: ArrayLike<number>): { mean: number; std: number } {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i] - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : Number.NaN };
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  return regularizedBeta(1 - p, n - k, k + 1);
}

/** ln P(X = k) for X ~ Binomial(n, p). */
function binomialLogPmf(k: number, n: number, p: number): number {
  return lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

/**
 * An exact Binomial(n, p) draw from one uniform u: inversion of the CDF, i.e. the smallest k with
 * P(X ≤ k) ≥ u. Small means search up from 0; otherwise the CDF is evaluated once at the mean
 * (incomplete beta function) and the search steps with the pmf recurrence, about one standard
 * deviation of steps on average. So a multinomial resample costs one random number per cell
 * instead of one per row.
 */
export function binomialDraw(u: number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const odds = p / (1 - p);
  if (n * p < 20) {
    // Small mean: search up from 0, where pmf(0) = (1 − p)^n.
    let k = 0;
    let pmf = Math.exp(n * Math.log1p(-p));
    let cdf = pmf;
    while (cdf < u && k < n) {
      k++;
      pmf *= ((n - k + 1) / k) * odds;
      cdf += pmf;
    }
    return k;
  }
  let k = Math.floor(n * p);
  let cdf = binomialCdf(k, n, p);
  let pmf = Math.exp(binomialLogPmf(k, n, p));
  if (cdf >= u) {
    // Step down while P(X ≤ k − 1) = cdf − pmf(k) still reaches u.
    while (k > 0 && cdf - pmf >= u) {
      cdf -= pmf;
      pmf *= k / ((n - k + 1) * odds);
      k--;
    }
    return k;
  }
  while (cdf < u && k < n) {
    k++;
    pmf *= ((n - k + 1) / k) * odds;
    cdf += pmf;
  }
  return k;
}

/** Standard normal CDF Φ(x), through erfc(z) = Q(1/2, z²) (the incomplete gamma above, ~1e-15). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return 1;
  if (x === Number.NEGATIVE_INFINITY) return 0;
  const z = -x / Math.SQRT2;
  const erfcAbs = gammaQ(0.5, z * z);
  return 0.5 * (z >= 0 ? erfcAbs : 2 - erfcAbs);
}

/** Standard normal quantile Φ⁻¹(p) (Acklam's algorithm refined by one Halley step; ~1e-15). */
export function normalQuantile(p: number): number {
  if (!(p > 0)) return p === 0 ? Number.NEGATIVE_INFINITY : Number.NaN;
  if (!(p < 1)) return p === 1 ? Number.POSITIVE_INFINITY : Number.NaN;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/**
 * Jackknife acceleration of BCa (Efron 1987): a = Σ d³ / (6 (Σ d²)^{3/2}), d = mean(θ₍ⱼ₎) − θ₍ⱼ₎,
 * over the finite jackknife values (a grouped, delete-a-block jackknife gives the same estimator).
 */
export function jackknifeAcceleration(values: Float64Array, offset: number, stride: number, count: number): number {
  let sum = 0;
  let m = 0;
  for (let j = 0; j < count; j++) {
    const v = values[offset + j * stride];
    if (Number.isFinite(v)) {
      sum += v;
      m++;
    }
  }
  if (m < 2) return 0;
  const mean = sum / m;
  let s2 = 0;
  let s3 = 0;
  for (let j = 0; j < count; j++) {
    const v = values[offset + j * stride];
    if (!Number.isFinite(v)) continue;
    const d = mean - v;
    s2 += d * d;
    s3 += d * d * d;
  }
  return s2 > 0 ? s3 / (6 * s2 ** 1.5) : 0;
}

/**
 * Bias-corrected and accelerated bootstrap interval (Efron 1987; DiCiccio & Efron 1996) of the
 * finite values among `replicates[offset + i*stride]`, i < count. The bias correction z0 counts
 * replicates below the estimate (ties count half) and is kept within the replicates' resolution;
 * the acceleration comes from the jackknife. Should the estimate still fall outside (it can only
 * when nearly every replicate lies on one side of it), the interval is widened to include it, so
 * an interval never excludes its own estimate. [NaN, NaN] when no replicate is finite.
 */
export function bcaInterval(
  estimate: number,
  replicates: Float64Array,
  offset: number,
  stride: number,
  count: number,
  level: number,
  acceleration: number,
): [number, number] {
  const sorted = sortedFinite(replicates, offset, stride, count);
  const m = sorted.length;
  if (m === 0 || !Number.isFinite(estimate)) return [Number.NaN, Number.NaN];
  let below = 0;
  let equal = 0;
  for (const v of sorted) {
    if (v < estimate) below++;
    else if (v === estimate) equal++;
  }
  const share = Math.min(Math.max((below + 0.5 * equal) / m, 0.5 / m), 1 - 0.5 / m);
  const z0 = normalQuantile(share);
  const tail = (1 - level) / 2;
  const adjusted = (z: number): number => {
    const w = z0 + z;
    const denominator = 1 - acceleration * w;
    // A huge acceleration would fold the interval over itself; fall back to bias correction only.
    return normalCdf(z0 + (denominator > 0 ? w / denominator : w));
  };
  let lo = quantileSorted(sorted, adjusted(normalQuantile(tail)));
  let hi = quantileSorted(sorted, adjusted(normalQuantile(1 - tail)));
  if (estimate < lo) lo = estimate;
  if (estimate > hi) hi = estimate;
  return [lo, hi];
}
