import { invalidArgument } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';

/**
 * L2-regularised logistic regression, the one learned model of the screener: the spectral model,
 * the CLIP probe, per-signal Platt calibration and the fusion are all instances of it.
 * Fitted by Newton's method (IRLS) on standardised features; the bias is not penalised.
 * The penalty follows scikit-learn's convention: minimise C × Σ log-loss + ½‖w‖².
 */
export interface LogisticModel {
  /** Feature means and standard deviations used to standardise inputs (z = (x - mean) / scale). */
  mean: number[];
  scale: number[];
  /** Weights on standardised features. */
  weights: number[];
  bias: number;
  /** Inverse regularisation strength. */
  c: number;
}

export interface Dataset {
  x: readonly (readonly number[])[];
  /** 1 = synthetic, 0 = real. */
  y: readonly number[];
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(p / (1 - p)) with p clamped away from 0 and 1, so a saturated score stays finite. */
export function logit(p: number): number {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
}

function validate(data: Dataset): number {
  if (data.x.length !== data.y.length) throw invalidArgument('labels', `${data.x.length} labels (one per row)`, data.y.length);
  const positives = data.y.filter((v) => v === 1).length;
  if (positives === 0 || positives === data.y.length) {
    throw invalidArgument('training labels', 'both real and synthetic examples', `${positives} synthetic of ${data.y.length}`);
  }
  const d = data.x[0].length;
  for (const [i, row] of data.x.entries()) {
    if (row.length !== d) throw invalidArgument(`feature row ${i}`, `${d} features`, row.length);
    if (!row.every(Number.isFinite)) throw invalidArgument(`feature row ${i}`, 'finite numbers', 'a non-finite value');
  }
  return d;
}

export function fitLogistic(data: Dataset, c: number, iterations = 50): LogisticModel {
  if (!(c > 0)) throw invalidArgument('C', 'a positive number', c);
  const d = validate(data);
  const n = data.x.length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const row of data.x) for (let j = 0; j < d; j++) mean[j] += row[j] / n;
  for (const row of data.x) for (let j = 0; j < d; j++) scale[j] += (row[j] - mean[j]) ** 2 / n;
  // A constant feature carries nothing; scale 1 keeps it at 0 after standardisation.
  for (let j = 0; j < d; j++) scale[j] = scale[j] > 1e-12 ? Math.sqrt(scale[j]) : 1;
  const z = data.x.map((row) => row.map((v, j) => (v - mean[j]) / scale[j]));

  // Parameters: weights 0..d-1, bias at index d.
  const theta = new Float64Array(d + 1);
  for (let iter = 0; iter < iterations; iter++) {
    const gradient = new Float64Array(d + 1);
    const hessian = new Float64Array((d + 1) * (d + 1));
    for (let i = 0; i < n; i++) {
      const row = z[i];
      let s = theta[d];
      for (let j = 0; j < d; j++) s += theta[j] * row[j];
      const p = sigmoid(s);
      const r = c * (p - data.y[i]);
      const w = c * Math.max(p * (1 - p), 1e-10);
      for (let j = 0; j < d; j++) {
        gradient[j] += r * row[j];
        const wj = w * row[j];
        for (let k = 0; k <= j; k++) hessian[j * (d + 1) + k] += wj * row[k];
        hessian[d * (d + 1) + j] += wj;
      }
      gradient[d] += r;
      hessian[d * (d + 1) + d] += w;
    }
    for (let j = 0; j < d; j++) {
      gradient[j] += theta[j];
      hessian[j * (d + 1) + j] += 1;
    }
    // Tiny ridge on the bias keeps separable data (bias alone) well posed.
    hessian[d * (d + 1) + d] += 1e-8;
    const step = solveSymmetric(hessian, gradient, d + 1);
    let change = 0;
    for (let j = 0; j <= d; j++) {
      theta[j] -= step[j];
      change = Math.max(change, Math.abs(step[j]));
    }
    if (change < 1e-8) break;
  }
  return { mean, scale, weights: Array.from(theta.subarray(0, d)), bias: theta[d], c };
}

/** Solves H x = g for symmetric positive-definite H given by its lower triangle (Cholesky). */
function solveSymmetric(lower: Float64Array, g: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = lower[i * n + j];
      for (let k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
      if (i === j) l[i * n + i] = Math.sqrt(Math.max(sum, 1e-12));
      else l[i * n + j] = sum / l[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = g[i];
    for (let k = 0; k < i; k++) sum -= l[i * n + k] * y[k];
    y[i] = sum / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i];
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i] * x[k];
    x[i] = sum / l[i * n + i];
  }
  return x;
}

/** The model's decision value (log-odds of synthetic). */
export function decisionValue(model: LogisticModel, features: readonly number[]): number {
  if (features.length !== model.weights.length) throw invalidArgument('features', `${model.weights.length} values`, features.length);
  let s = model.bias;
  for (let j = 0; j < features.length; j++) s += (model.weights[j] * (features[j] - model.mean[j])) / model.scale[j];
  return s;
}

export function predictProbability(model: LogisticModel, features: readonly number[]): number {
  return sigmoid(decisionValue(model, features));
}

/** Stratified k-fold assignment: fold index per row, classes spread evenly, shuffled by seed. */
export function stratifiedFolds(y: readonly number[], folds: number, seed: number): number[] {
  const random = new SeededRandom(seed);
  const assignment = new Array<number>(y.length).fill(0);
  for (const label of [0, 1]) {
    const indices = random.shuffle(y.flatMap((v, i) => (v === label ? [i] : [])));
    indices.forEach((index, position) => (assignment[index] = position % folds));
  }
  return assignment;
}

/**
 * Group-aware stratified k-fold assignment: every row of one group (an image and its altered
 * copies, the crops of one photograph) lands in the same fold, so out-of-fold scores never come
 * from a model that saw the same content. Groups are dealt to folds largest first, each to the
 * fold holding fewest rows of the group's majority class (ties by seeded shuffle order).
 */
export function groupedFolds(y: readonly number[], groups: readonly string[], folds: number, seed: number): number[] {
  if (groups.length !== y.length) throw invalidArgument('groups', `${y.length} group names (one per row)`, groups.length);
  const members = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const rows = members.get(g);
    if (rows) rows.push(i);
    else members.set(g, [i]);
  });
  const random = new SeededRandom(seed);
  const order = random.shuffle([...members.keys()]).sort((a, b) => members.get(b)!.length - members.get(a)!.length);
  const perFold = Array.from({ length: folds }, () => [0, 0]);
  const total = [y.filter((v) => v === 0).length || 1, y.filter((v) => v === 1).length || 1];
  const load = (k: number): number => perFold[k][0] / total[0] + perFold[k][1] / total[1];
  const assignment = new Array<number>(y.length).fill(0);
  for (const group of order) {
    const rows = members.get(group)!;
    const fakes = rows.filter((i) => y[i] === 1).length;
    const counts = [rows.length - fakes, fakes];
    let best = 0;
    for (let f = 1; f < folds; f++) if (load(f) < load(best)) best = f;
    for (const i of rows) assignment[i] = best;
    perFold[best][0] += counts[0];
    perFold[best][1] += counts[1];
  }
  return assignment;
}

/** Out-of-fold decision values: each row scored by a model that never saw it. */
export function crossValidatedDecisions(data: Dataset, c: number, folds: readonly number[]): number[] {
  const k = Math.max(...folds) + 1;
  const out = new Array<number>(data.y.length).fill(0);
  for (let f = 0; f < k; f++) {
    const train = { x: data.x.filter((_, i) => folds[i] !== f), y: data.y.filter((_, i) => folds[i] !== f) };
    const model = fitLogistic(train, c);
    data.x.forEach((row, i) => {
      if (folds[i] === f) out[i] = decisionValue(model, row);
    });
  }
  return out;
}

export interface CrossValidatedFit {
  model: LogisticModel;
  /** Out-of-fold decision values at the chosen C (honest held-out scores for calibration and metrics). */
  outOfFold: number[];
  /** Mean out-of-fold log-loss per C tried. */
  grid: { c: number; logLoss: number }[];
}

export const DEFAULT_C_GRID = [0.001, 0.01, 0.1, 1, 10, 100] as const;

/** Chooses C by k-fold log-loss (stratified, or the given fold assignment), then refits on all rows. */
export function fitLogisticCv(data: Dataset, options: { folds: number; seed: number; cGrid?: readonly number[]; assignment?: readonly number[] }): CrossValidatedFit {
  validate(data);
  const folds = options.assignment ?? stratifiedFolds(data.y, options.folds, options.seed);
  const grid = (options.cGrid ?? DEFAULT_C_GRID).map((c) => {
    const decisions = crossValidatedDecisions(data, c, folds);
    return { c, logLoss: meanLogLoss(decisions, data.y), decisions };
  });
  const best = grid.reduce((a, b) => (b.logLoss < a.logLoss ? b : a));
  return {
    model: fitLogistic(data, best.c),
    outOfFold: best.decisions,
    grid: grid.map(({ c, logLoss }) => ({ c, logLoss })),
  };
}

export function meanLogLoss(decisions: readonly number[], y: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const p = Math.min(1 - 1e-12, Math.max(1e-12, sigmoid(decisions[i])));
    total -= y[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return total / y.length;
}

/** Platt scaling: P(synthetic | s) = sigmoid(a·s + b), fitted on held-out decision values. */
export interface PlattCalibration {
  a: number;
  b: number;
}

export function fitPlatt(decisions: readonly number[], y: readonly number[]): PlattCalibration {
  // Weak regularisation (C = 100): a calibration map should follow the data, but stay finite on separable data.
  const model = fitLogistic({ x: decisions.map((v) => [v]), y }, 100);
  return { a: model.weights[0] / model.scale[0], b: model.bias - (model.weights[0] * model.mean[0]) / model.scale[0] };
}

export function applyPlatt(calibration: PlattCalibration, decision: number): number {
  return sigmoid(calibration.a * decision + calibration.b);
}
