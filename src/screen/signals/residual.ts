import { invalidArgument } from '../../core/errors.js';
import { channelPlanes, type GrayImage, type Plane } from './spectral.js';
import type { SignalMeta } from './types.js';

export const residualMeta: SignalMeta = {
  id: 'residual',
  title: 'Neighbouring-pixel residual',
  description:
    'After NPR (Tan et al., CVPR 2024): the image minus its nearest-neighbour down-up reconstruction (factor 2, ' +
    'all four offsets, per colour channel). Upsampling (nearest, bilinear, bicubic, transposed convolutions, ' +
    'decoders) makes neighbouring pixels inside 2×2 cells depend on each other, so the residual differs ' +
    'between offsets; a photograph has no preferred grid. Summarised into offset-contrast features; ' +
    '`statistic` is a fixed model-free summary, the score a logistic model trained on labeled images. ' +
    'Downscaling after generation and strong JPEG weaken it.',
  requires: 'decoded pixels (a trained model in the probe file for the score)',
  needs: ['pixels', 'trained-model'],
};

/** Smallest side accepted (the period-4 statistics need several cells). */
export const RESIDUAL_MIN_SIDE = 32;
/** Side of the centre region analysed: bounds the cost on large images. */
const REGION = 192;
const CHANNEL_NAMES = ['r', 'g', 'b'] as const;

export const RESIDUAL_FEATURE_NAMES: readonly string[] = [
  ...CHANNEL_NAMES.flatMap((c) => [
    `npr_offset_spread_${c}`,
    `npr_relative_energy_${c}`,
    `diff1_period2_${c}`,
    `diff2_period2_${c}`,
    `diff2_period4_${c}`,
    `diff1_period8_${c}`,
    `diff2_lag1_phase2_${c}`,
    `diff2_lag1_phase4_${c}`,
  ]),
  'grid_statistic',
];

export interface ResidualAnalysis {
  features: number[];
  /**
   * Fixed, model-free statistic (gridStatistic): the phase contrasts of a 2- or 4-pixel grid (NPR
   * residual across offsets, first and second differences, lag-1 products of second differences);
   * low on a photograph without a grid, large after ×2/×4 upsampling.
   */
  statistic: number;
}

const EPS = 1e-6;

/** Phase sums of one plane, reused across channels and images (integer sums: exact in any order). */
const sums = {
  /** NPR: |right - anchor|, |below - anchor|, |diagonal - anchor| summed per anchor phase (y & 1) × 2 + (x & 1). */
  npr: new Int32Array(4),
  /** First differences by phase mod 8 (horizontal pairs by column, vertical pairs by row). */
  d1: new Int32Array(8),
  d1n: new Int32Array(8),
  /** Second differences by phase mod 4. */
  d2: new Int32Array(4),
  d2n: new Int32Array(4),
  /**
   * Lag-1 products of the signed second differences d2(n)·d2(n+1) summed by the phase n mod 8
   * (0-7), the number of pairs per phase (8-15), then Σ d2(n)² and the number of d2 values (16,
   * 17); float sums of integer products (exact: below 2^53).
   */
  lag: new Float64Array(18),
};

/** Signed vertical second differences of the previous row, per column (for the vertical lag-1 products). */
let previousVertical = new Float64Array(0);

/**
 * Per-channel residual statistics of one plane region, copied row-major into `p` (w × h).
 *
 * NPR: for offset (oy, ox), the reconstruction copies each 2×2 cell's anchor pixel (top-left of
 * the cell on that grid) over the cell; the residual is each pixel minus its anchor; mean
 * |residual| per offset. Every pixel with a right and a lower neighbour is the anchor of exactly
 * one offset, and its right and lower differences are also the first differences, so one pass
 * gives the NPR sums, the first differences by phase mod 8 and the second differences by phase
 * mod 4 (columns for horizontal pairs, rows for vertical ones).
 */
function channelFeatures(p: Int16Array, w: number, h: number): number[] {
  const { npr: nprSum, d1, d1n, d2, d2n, lag } = sums;
  lag.fill(0);
  if (previousVertical.length < w) previousVertical = new Float64Array(Math.max(w, REGION));
  nprSum.fill(0);
  d1.fill(0);
  d1n.fill(0);
  d2.fill(0);
  d2n.fill(0);
  let energy = 0;
  for (let y = 0; y + 1 < h; y++) {
    const row = y * w;
    const cells = (y & 1) * 2;
    let vertical = 0;
    let secondVertical = 0;
    // Vertical lag-1 products pair this row's second difference with the previous row's (y - 1 >= 1).
    const pairsAbove = y >= 2;
    let verticalLag = 0;
    // x = 0: no horizontal second difference.
    {
      const a = p[row];
      const below = Math.abs(p[row + w] - a);
      nprSum[cells] += Math.abs(p[row + 1] - a) + below + Math.abs(p[row + w + 1] - a);
      d1[0] += Math.abs(p[row + 1] - a);
      vertical += below;
      if (y > 0) {
        const v = p[row - w] - 2 * a + p[row + w];
        secondVertical += Math.abs(v);
        energy += v * v;
        if (pairsAbove) verticalLag += v * previousVertical[0];
        previousVertical[0] = v;
      }
    }
    let previousHorizontal = 0;
    for (let x = 1; x + 1 < w; x++) {
      const i = row + x;
      const a = p[i];
      const right = Math.abs(p[i + 1] - a);
      const below = Math.abs(p[i + w] - a);
      nprSum[cells + (x & 1)] += right + below + Math.abs(p[i + w + 1] - a);
      d1[x & 7] += right;
      vertical += below;
      const s2 = p[i - 1] - 2 * a + p[i + 1];
      d2[x & 3] += Math.abs(s2);
      energy += s2 * s2;
      // The pair (x - 1, x), by the phase of x - 1.
      if (x >= 2) lag[(x - 1) & 7] += previousHorizontal * s2;
      previousHorizontal = s2;
      // The vertical second difference needs a row above (on row 0, a read before the plane: skipped).
      if (y > 0) {
        const v = p[i - w] - 2 * a + p[i + w];
        secondVertical += Math.abs(v);
        energy += v * v;
        if (pairsAbove) verticalLag += v * previousVertical[x];
        previousVertical[x] = v;
      }
    }
    // x = w - 1: only the vertical differences.
    const end = row + w - 1;
    vertical += Math.abs(p[end + w] - p[end]);
    d1[y & 7] += vertical;
    d1n[y & 7] += w;
    if (y > 0) {
      const v = p[end - w] - 2 * p[end] + p[end + w];
      secondVertical += Math.abs(v);
      energy += v * v;
      if (pairsAbove) verticalLag += v * previousVertical[w - 1];
      previousVertical[w - 1] = v;
      d2[y & 3] += secondVertical;
      d2n[y & 3] += w;
      if (pairsAbove) lag[(y - 1) & 7] += verticalLag;
    }
  }
  // The last row: horizontal differences only (it anchors no cell and has no row below).
  const last = (h - 1) * w;
  for (let x = 0; x + 1 < w; x++) d1[x & 7] += Math.abs(p[last + x + 1] - p[last + x]);
  let previousHorizontal = 0;
  for (let x = 1; x + 1 < w; x++) {
    const s2 = p[last + x - 1] - 2 * p[last + x] + p[last + x + 1];
    d2[x & 3] += Math.abs(s2);
    energy += s2 * s2;
    if (x >= 2) lag[(x - 1) & 7] += previousHorizontal * s2;
    previousHorizontal = s2;
  }
  for (let x = 0; x + 1 < w; x++) d1n[x & 7] += h;
  for (let x = 1; x + 1 < w; x++) d2n[x & 3] += h;
  // Pairs: horizontal (n, n + 1) for n in 1..w-3 on every row, vertical for n in 1..h-3 in every column.
  for (let n = 1; n + 2 < w; n++) lag[8 + (n & 7)] += h;
  for (let n = 1; n + 2 < h; n++) lag[8 + (n & 7)] += w;
  lag[16] = energy;
  lag[17] = Math.max(0, w - 2) * h + w * Math.max(0, h - 2);
  const npr = [0, 0, 0, 0];
  for (let o = 0; o < 4; o++) {
    const anchors = Math.floor((h - 1 - (o >> 1) + 1) / 2) * Math.floor((w - 1 - (o & 1) + 1) / 2);
    npr[o] = nprSum[o] / Math.max(1, 3 * anchors) + EPS;
  }
  return residualSummary(npr, d1, d1n, d2, d2n, lag);
}

/**
 * The six residual features from a channel's accumulated sums: NPR means per 2x2 offset, first
 * differences by row/column phase mod 8 and second differences by phase mod 4 (sums and counts).
 * Exported so the test's plain reference accumulation is summarised exactly as the fused pass is.
 */
export function residualSummary(
  npr: readonly number[],
  d1: ArrayLike<number>,
  d1n: ArrayLike<number>,
  d2: ArrayLike<number>,
  d2n: ArrayLike<number>,
  lag: ArrayLike<number>,
): number[] {
  const d1Mean = Array.from(d1, (s, i) => s / Math.max(1, d1n[i]) + EPS);
  const d2Mean = Array.from(d2, (s, i) => s / Math.max(1, d2n[i]) + EPS);
  const logSpread = (values: readonly number[]): number => Math.log(Math.max(...values) / Math.min(...values));
  const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const d1Even = mean(d1Mean.filter((_, i) => i % 2 === 0));
  const d1Odd = mean(d1Mean.filter((_, i) => i % 2 === 1));
  return [
    logSpread(npr),
    // Residual energy relative to the image's gradient energy: down-up reconstructions of smooth
    // (upsampled) images leave little.
    Math.log(mean(npr) / mean(d1Mean)),
    Math.abs(Math.log(d1Even / d1Odd)),
    Math.abs(Math.log((d2Mean[0] + d2Mean[2]) / (d2Mean[1] + d2Mean[3]))),
    logSpread(d2Mean),
    logSpread(d1Mean),
    ...lagPhaseContrasts(lag),
  ];
}

/**
 * Phase contrasts of the lag-1 autocorrelation of the signed second difference (rows and columns),
 * from `lag` (products d2(n)·d2(n+1) and pair counts by n mod 8, then Σ d2(n)² and its count):
 * the mean product per phase, relative to the mean d2², for period 2 (|even − odd|) and period 4
 * (largest − smallest of the four phases), each as log(1 + 100 × contrast). A ×2 (×4)
 * interpolation (nearest, bilinear, bicubic, Lanczos, a learned decoder) makes samples between the
 * grid points functions of their neighbours, so the second difference's correlation with the next
 * one changes with the phase (on the training fakes for every family; not after libvips's
 * symmetric linear ×2, which the grid contrasts see instead); on a photograph the phases agree.
 * Pairs whose stencil (n - 1 .. n + 2) straddles an 8×8 JPEG block boundary (n mod 8 = 6, 7, 0;
 * the region is aligned to the file's block grid) are left out: block coding is not upsampling.
 */
export function lagPhaseContrasts(lag: ArrayLike<number>): [number, number] {
  const mean = (phases: readonly number[]): number => {
    let sum = 0;
    let count = 0;
    for (const k of phases) {
      sum += lag[k];
      count += lag[8 + k];
    }
    return sum / Math.max(1, count);
  };
  const energy = lag[16] / Math.max(1, lag[17]) + EPS;
  const byPhase4 = [mean([4]), mean([1, 5]), mean([2]), mean([3])];
  return [
    Math.log1p((100 * Math.abs(mean([2, 4]) - mean([1, 3, 5]))) / energy),
    Math.log1p((100 * (Math.max(...byPhase4) - Math.min(...byPhase4))) / energy),
  ];
}

/** The plane buffer, reused across channels and images (REGION² at most). */
let planeBuffer = new Int16Array(0);

/** Copies a region of one channel into a contiguous plane (valid until the next call). */
function region({ data, width, step, offset }: Plane, left: number, top: number, w: number, h: number): Int16Array {
  if (planeBuffer.length < w * h) planeBuffer = new Int16Array(REGION * REGION);
  const plane = planeBuffer.subarray(0, w * h);
  for (let y = 0; y < h; y++) {
    const source = ((top + y) * width + left) * step + offset;
    for (let x = 0; x < w; x++) plane[y * w + x] = data[source + x * step];
  }
  return plane;
}

/**
 * The fixed, model-free statistic over the channels' features: the larger of twice the largest log
 * contrast between grid phases (features 0, 2, 3, 4: the NPR offset spread and the period-2/4
 * difference contrasts; large after nearest-neighbour and transposed-convolution upsampling) and
 * the period-4 lag-1 phase contrast (feature 7) less 2 (large after any ×2/×4 interpolation, about
 * 2.75 on a photograph). The weights were chosen on the training fakes against the calibration
 * photographs (the smallest per-family AUC), never on the test split.
 */
function gridStatistic(perChannel: readonly (readonly number[])[]): number {
  return Math.max(...perChannel.map((f) => Math.max(2 * Math.max(f[0], f[2], f[3], f[4]), f[7] - 2)));
}

/**
 * Top-left corner of the centre region, rounded down to a multiple of 8: the region then shares the
 * file's 8×8 JPEG block grid, which the lag-1 phase contrasts leave out.
 */
export function residualRegion(width: number, height: number, w: number, h: number): { left: number; top: number } {
  const left = Math.floor((width - w) / 2);
  const top = Math.floor((height - h) / 2);
  return { left: left - (left % 8), top: top - (top % 8) };
}

/**
 * Residual features of an image (pure), on the centre REGION × REGION at native resolution, per
 * colour channel (the luma stands in for all three on a greyscale image).
 */
export function analyzeResidual(image: GrayImage): ResidualAnalysis {
  if (Math.min(image.width, image.height) < RESIDUAL_MIN_SIDE) {
    throw invalidArgument('image size', `at least ${RESIDUAL_MIN_SIDE}×${RESIDUAL_MIN_SIDE} pixels for the residual`, `${image.width}×${image.height}`);
  }
  const w = Math.min(REGION, image.width);
  const h = Math.min(REGION, image.height);
  const { left, top } = residualRegion(image.width, image.height, w, h);
  const perChannel = channelPlanes(image).map((plane) => channelFeatures(region(plane, left, top, w, h), w, h));
  while (perChannel.length < 3) perChannel.push(perChannel[0]);
  const statistic = gridStatistic(perChannel);
  // The statistic is also the last feature: one kernel-independent summary the learned model can
  // lean on for a family it never saw.
  return { features: [...perChannel.flat(), statistic], statistic };
}
