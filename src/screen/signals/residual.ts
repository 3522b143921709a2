import { invalidArgument } from '../../core/errors.js';
import type { GrayImage } from './spectral.js';
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
  ]),
];

export interface ResidualAnalysis {
  features: number[];
  /**
   * Fixed, model-free statistic: the largest log contrast between the phases of a 2- or 4-pixel
   * grid (NPR residual across offsets, first and second differences); near 0 on a photograph
   * without a grid, large after ×2/×4 upsampling.
   */
  statistic: number;
}

const EPS = 1e-6;

/** Per-channel residual statistics of one plane region, copied row-major into `p` (w × h). */
function channelFeatures(p: Int16Array, w: number, h: number): number[] {
  // NPR: for offset (oy, ox), the reconstruction copies each 2×2 cell's anchor pixel (top-left of
  // the cell on that grid) over the cell; the residual is each pixel minus its anchor. Mean
  // |residual| per offset.
  const npr = [0, 0, 0, 0];
  for (let o = 0; o < 4; o++) {
    const oy = o >> 1;
    const ox = o & 1;
    let sum = 0;
    let count = 0;
    for (let y = oy; y + 1 < h; y += 2) {
      const row = y * w;
      for (let x = ox; x + 1 < w; x += 2) {
        const i = row + x;
        const a = p[i];
        sum += Math.abs(p[i + 1] - a) + Math.abs(p[i + w] - a) + Math.abs(p[i + w + 1] - a);
        count += 3;
      }
    }
    npr[o] = sum / Math.max(1, count) + EPS;
  }
  // First differences by phase mod 8 (columns for horizontal, rows for vertical pairs); second
  // differences by phase mod 4.
  const d1 = new Float64Array(8);
  const d1n = new Float64Array(8);
  const d2 = new Float64Array(4);
  const d2n = new Float64Array(4);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x + 1 < w; x++) {
      d1[x & 7] += Math.abs(p[row + x + 1] - p[row + x]);
      d1n[x & 7]++;
    }
    for (let x = 1; x + 1 < w; x++) {
      d2[x & 3] += Math.abs(p[row + x - 1] - 2 * p[row + x] + p[row + x + 1]);
      d2n[x & 3]++;
    }
  }
  for (let y = 0; y + 1 < h; y++) {
    const row = y * w;
    let s1 = 0;
    for (let x = 0; x < w; x++) s1 += Math.abs(p[row + w + x] - p[row + x]);
    d1[y & 7] += s1;
    d1n[y & 7] += w;
    if (y === 0) continue;
    let s2 = 0;
    for (let x = 0; x < w; x++) s2 += Math.abs(p[row - w + x] - 2 * p[row + x] + p[row + w + x]);
    d2[y & 3] += s2;
    d2n[y & 3] += w;
  }
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
  ];
}

/** Copies one channel of a region into a contiguous plane. */
function region(data: Uint8Array, width: number, step: number, offset: number, left: number, top: number, w: number, h: number): Int16Array {
  const plane = new Int16Array(w * h);
  for (let y = 0; y < h; y++) {
    const source = ((top + y) * width + left) * step + offset;
    for (let x = 0; x < w; x++) plane[y * w + x] = data[source + x * step];
  }
  return plane;
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
  const left = Math.floor((image.width - w) / 2);
  const top = Math.floor((image.height - h) / 2);
  const colour = image.pixels !== undefined && (image.channels ?? 1) >= 3;
  const perChannel = colour
    ? [0, 1, 2].map((offset) => channelFeatures(region(image.pixels!, image.width, image.channels!, offset, left, top, w, h), w, h))
    : [channelFeatures(region(image.data, image.width, 1, 0, left, top, w, h), w, h)];
  while (perChannel.length < 3) perChannel.push(perChannel[0]);
  // Features 0, 2, 3, 4 of each channel: the NPR offset spread and the period-2/4 difference contrasts.
  const statistic = Math.max(...perChannel.map((f) => Math.max(f[0], f[2], f[3], f[4])));
  return { features: perChannel.flat(), statistic };
}
