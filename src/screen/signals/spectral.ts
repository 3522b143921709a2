import FFT from 'fft.js';
import { invalidArgument } from '../../core/errors.js';
import { applyPlatt, decisionValue, type LogisticModel, type PlattCalibration } from '../logistic.js';
import type { SignalMeta, SignalScore } from './types.js';

export const spectralMeta: SignalMeta = {
  id: 'spectral',
  title: 'Frequency spectrum',
  description:
    "Durall et al. 2020's azimuthally averaged log power spectrum, per colour channel (32 radial bins each), " +
    "plus peaks at the periodic frequencies that 2x/4x upsampling and 8x8 block coding leave, in the Fourier " +
    "spectrum and in the DCT (Frank et al. 2020), scored by a logistic model trained on labeled images. " +
    'Resampling, strong JPEG and blur weaken these artifacts.',
  requires: 'decoded pixels and a trained spectral model (in the probe file)',
  needs: ['pixels', 'trained-model'],
};

/** Largest analysis tile; images are analysed at native resolution, never resized (resizing erases the artifacts). */
export const MAX_TILE = 64;
/** Smallest side accepted. */
export const MIN_SIDE = 32;
/** Radial bins of the azimuthal average, per channel: enough to resolve the high-frequency fall-off upsampling leaves. */
const RADIAL_BINS = 32;
/** Periods whose harmonics upsampling (2, 4) and 8×8 block transforms (8) make periodic. */
const PEAK_PERIODS = [2, 4, 8] as const;
/** Side of the centre block whose DCT gives Frank et al.'s periodic-peak features. */
const DCT_SIDE = 64;
const CHANNEL_NAMES = ['r', 'g', 'b'] as const;

export const SPECTRAL_FEATURE_NAMES: readonly string[] = [
  ...CHANNEL_NAMES.flatMap((c) => Array.from({ length: RADIAL_BINS }, (_, i) => `azimuthal_${c}_${i}`)),
  ...PEAK_PERIODS.flatMap((p) => [`peak_axis_period_${p}`, `peak_diagonal_period_${p}`]),
  'high_to_low_energy',
  ...[4, 8].flatMap((p) => [`dct_peak_axis_period_${p}`, `dct_peak_diagonal_period_${p}`]),
  'dct_high_to_low_energy',
];

export interface GrayImage {
  /** 8-bit luma, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Interleaved 8-bit pixels (1 to 4 channels); without them the luma stands in for every channel. */
  pixels?: Uint8Array;
  channels?: number;
}

export interface SpectralAnalysis {
  features: number[];
  /** Tile side the spectrum was computed at. */
  tile: number;
  /** Tiles averaged (Welch's method: averaging tile spectra lowers the variance of the estimate). */
  tiles: number;
  /** Mean log power spectrum over the channels, tile × tile, DC at the centre (fftshifted): the evidence image. */
  logPower: Float32Array;
}

interface FftPlan {
  fft: FFT;
  window: Float64Array;
  row: Float64Array;
  rowOut: Float64Array[];
  column: Float64Array;
  columnOut: Float64Array;
}

const plans = new Map<number, FftPlan>();

function plan(size: number): FftPlan {
  let p = plans.get(size);
  if (!p) {
    const fft = new FFT(size);
    const window = new Float64Array(size);
    for (let i = 0; i < size; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (size - 1));
    p = {
      fft,
      window,
      row: new Float64Array(size),
      rowOut: Array.from({ length: size }, () => fft.createComplexArray() as unknown as Float64Array),
      column: fft.createComplexArray() as unknown as Float64Array,
      columnOut: fft.createComplexArray() as unknown as Float64Array,
    };
    plans.set(size, p);
  }
  return p;
}

const binCache = new Map<number, Int8Array>();

/**
 * Radial bin of every frequency of a size × size spectrum (DC at [0,0]): normalised radius
 * (1 = Nyquist on the axes) split into RADIAL_BINS; -1 for DC and the corners beyond Nyquist.
 * Bins in the upper half are the "high" frequencies (radius > 0.5).
 */
function radialBins(size: number): Int8Array {
  let bins = binCache.get(size);
  if (!bins) {
    bins = new Int8Array(size * size);
    const half = size / 2;
    for (let ky = 0; ky < size; ky++) {
      const fy = ky <= half ? ky : ky - size;
      for (let kx = 0; kx < size; kx++) {
        const fx = kx <= half ? kx : kx - size;
        const r = Math.sqrt(fx * fx + fy * fy) / half;
        bins[ky * size + kx] = (kx === 0 && ky === 0) || r > 1 ? -1 : Math.min(RADIAL_BINS - 1, Math.floor(r * RADIAL_BINS));
      }
    }
    binCache.set(size, bins);
  }
  return bins;
}

function largestPowerOfTwoAtMost(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/** One channel of an image: value at (x, y) = data[(y × width + x) × step + offset]. */
export interface Plane {
  data: Uint8Array;
  width: number;
  step: number;
  offset: number;
}

/** The red, green and blue planes of a colour image; the luma alone when it has no colour pixels. */
export function channelPlanes(image: GrayImage): Plane[] {
  const colour = image.pixels !== undefined && (image.channels ?? 1) >= 3;
  return colour
    ? [0, 1, 2].map((offset) => ({ data: image.pixels!, width: image.width, step: image.channels!, offset }))
    : [{ data: image.data, width: image.width, step: 1, offset: 0 }];
}

/**
 * Adds the power spectrum of one Hann-windowed, mean-removed tile to `power` (tile × tile, DC at
 * [0,0]). Rows are real transforms; by Hermitian symmetry only columns 0..tile/2 need a column
 * transform, the rest is mirrored.
 */
function accumulateTilePower(plane: Plane, left: number, top: number, size: number, power: Float64Array): void {
  const p = plan(size);
  const { data, width, step, offset: channel } = plane;
  let mean = 0;
  for (let y = 0; y < size; y++) {
    const offset = ((top + y) * width + left) * step + channel;
    for (let x = 0; x < size; x++) mean += data[offset + x * step];
  }
  mean /= size * size;
  for (let y = 0; y < size; y++) {
    const offset = ((top + y) * width + left) * step + channel;
    const wy = p.window[y];
    for (let x = 0; x < size; x++) p.row[x] = (data[offset + x * step] - mean) * wy * p.window[x];
    p.fft.realTransform(p.rowOut[y], p.row);
  }
  const half = size / 2;
  for (let kx = 0; kx <= half; kx++) {
    for (let y = 0; y < size; y++) {
      p.column[2 * y] = p.rowOut[y][2 * kx];
      p.column[2 * y + 1] = p.rowOut[y][2 * kx + 1];
    }
    p.fft.transform(p.columnOut, p.column);
    for (let ky = 0; ky < size; ky++) {
      const re = p.columnOut[2 * ky];
      const im = p.columnOut[2 * ky + 1];
      const value = re * re + im * im;
      power[ky * size + kx] += value;
      if (kx > 0 && kx < half) power[((size - ky) % size) * size + (size - kx)] += value;
    }
  }
}

/** Log power at a frequency minus the median of its 5×5 neighbourhood ring: a local peak height. */
function peakHeight(at: (kx: number, ky: number) => number, kx: number, ky: number): number {
  const ring: number[] = [];
  for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (Math.max(Math.abs(dx), Math.abs(dy)) === 2) ring.push(at(kx + dx, ky + dy));
  ring.sort((a, b) => a - b);
  return at(kx, ky) - (ring[ring.length / 2 - 1] + ring[ring.length / 2]) / 2;
}

interface DctPlan {
  fft: FFT;
  /** Makhoul's post-twiddle: orthonormal scale × cos and × sin of πk/(2N). */
  cos: Float64Array;
  sin: Float64Array;
  input: Float64Array;
  output: Float64Array;
  /** Row transforms (T = X Cᵀ), then the block's coefficients (D = C T). */
  rows: Float64Array;
  coefficients: Float64Array;
}

let dctPlan: DctPlan | undefined;

function dctPlanFor(): DctPlan {
  if (!dctPlan) {
    const n = DCT_SIDE;
    const fft = new FFT(n);
    const cos = new Float64Array(n);
    const sin = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const norm = Math.sqrt((k === 0 ? 1 : 2) / n);
      cos[k] = norm * Math.cos((Math.PI * k) / (2 * n));
      sin[k] = norm * Math.sin((Math.PI * k) / (2 * n));
    }
    dctPlan = {
      fft,
      cos,
      sin,
      input: fft.createComplexArray() as unknown as Float64Array,
      output: fft.createComplexArray() as unknown as Float64Array,
      rows: new Float64Array(n * n),
      coefficients: new Float64Array(n * n),
    };
  }
  return dctPlan;
}

/**
 * Orthonormal DCT-II of `n` values read at source[start + i × stride], written to
 * target[at + k × targetStride], through one complex FFT of the same length (Makhoul 1980:
 * even samples forward, odd samples reversed, then X_k = Re(e^{-iπk/2N} V_k)). O(n log n)
 * instead of the O(n²) basis product; equal to it up to float rounding.
 */
function dct1d(plan: DctPlan, source: ArrayLike<number>, start: number, stride: number, target: Float64Array, at: number, targetStride: number): void {
  const n = DCT_SIDE;
  const { input, output, cos, sin } = plan;
  for (let i = 0; i < n / 2; i++) {
    input[2 * i] = source[start + 2 * i * stride];
    input[2 * i + 1] = 0;
    input[2 * (n - 1 - i)] = source[start + (2 * i + 1) * stride];
    input[2 * (n - 1 - i) + 1] = 0;
  }
  plan.fft.transform(output, input);
  for (let k = 0; k < n; k++) target[at + k * targetStride] = output[2 * k] * cos[k] + output[2 * k + 1] * sin[k];
}

/**
 * Frank et al. 2020's DCT features on the centre DCT_SIDE block of the luma: the 2-D DCT's log
 * magnitude at the coefficients where period-4 and period-8 structure lands (index 2N/period), as
 * local peak heights, and the high-to-low frequency energy ratio. Zeros when the image is smaller.
 */
function dctFeatures(image: GrayImage): number[] {
  const n = DCT_SIDE;
  if (image.width < n || image.height < n) return [0, 0, 0, 0, 0];
  const plan = dctPlanFor();
  const left = Math.floor((image.width - n) / 2);
  const top = Math.floor((image.height - n) / 2);
  // rows: T = X Cᵀ (row y of the block -> row y of T), then D = C T (column k of T -> column k of D).
  const { rows, coefficients } = plan;
  for (let y = 0; y < n; y++) dct1d(plan, image.data, (top + y) * image.width + left, 1, rows, y * n, 1);
  for (let k = 0; k < n; k++) dct1d(plan, rows, k, n, coefficients, k, n);
  let high = 0;
  let low = 0;
  for (let ky = 0; ky < n; ky++) {
    for (let kx = 0; kx < n; kx++) {
      if (kx === 0 && ky === 0) continue;
      const value = coefficients[ky * n + kx];
      if (kx + ky >= n) high += value * value;
      else low += value * value;
    }
  }
  // Only the peaks and their 5×5 rings are read: the log is taken there, not over the whole block.
  const at = (kx: number, ky: number): number => {
    const value = coefficients[Math.min(n - 1, Math.abs(ky)) * n + Math.min(n - 1, Math.abs(kx))];
    return Math.log(value * value + 1e-3);
  };
  const features = [4, 8].flatMap((period) => {
    const k = (2 * n) / period;
    return [(peakHeight(at, k, 0) + peakHeight(at, 0, k)) / 2, peakHeight(at, k, k)];
  });
  features.push(Math.log((high + 1e-9) / (low + 1e-9)));
  return features;
}

/**
 * Spectral features of an image (pure): per colour channel, the Welch-averaged power spectrum over
 * up to 2×2 tiles from the image centre at native resolution and its azimuthal average (Durall et
 * al.); on the channels' mean log spectrum, the upsampling peak heights and the high/low energy
 * ratio; on the luma, the DCT peak features (Frank et al.).
 */
export function analyzeSpectrum(image: GrayImage): SpectralAnalysis {
  const side = Math.min(image.width, image.height);
  if (side < MIN_SIDE) throw invalidArgument('image size', `at least ${MIN_SIDE}×${MIN_SIDE} pixels for spectral analysis`, `${image.width}×${image.height}`);
  const size = Math.min(MAX_TILE, largestPowerOfTwoAtMost(side));
  const nx = Math.min(2, Math.floor(image.width / size));
  const ny = Math.min(2, Math.floor(image.height / size));
  const left0 = Math.floor((image.width - nx * size) / 2);
  const top0 = Math.floor((image.height - ny * size) / 2);
  const tiles = nx * ny;
  const planes = channelPlanes(image);

  const half = size / 2;
  const bins = radialBins(size);
  const meanLog = new Float64Array(size * size);
  const totalPower = new Float64Array(size * size);
  const azimuthal: number[][] = [];
  for (const plane of planes) {
    const power = new Float64Array(size * size);
    for (let ty = 0; ty < ny; ty++) for (let tx = 0; tx < nx; tx++) accumulateTilePower(plane, left0 + tx * size, top0 + ty * size, size, power);
    const radialSum = new Float64Array(RADIAL_BINS);
    const radialCount = new Float64Array(RADIAL_BINS);
    for (let i = 0; i < power.length; i++) {
      // Log of mean power per pixel²; the +1e-3 floor keeps flat (synthetic-smooth) regions finite.
      const log = Math.log(power[i] / (tiles * size * size) + 1e-3);
      meanLog[i] += log / planes.length;
      totalPower[i] += power[i];
      const bin = bins[i];
      if (bin < 0) continue;
      radialSum[bin] += log;
      radialCount[bin] += 1;
    }
    // A small tile leaves some of the 32 bins empty: they take the previous bin's value.
    const radial: number[] = [];
    for (let b = 0; b < RADIAL_BINS; b++) radial.push(radialCount[b] > 0 ? radialSum[b] / radialCount[b] : (radial[b - 1] ?? 0));
    // Brightness and contrast shift the whole profile; its shape is what upsampling changes.
    const radialMean = radial.reduce((a, b) => a + b, 0) / radial.length;
    azimuthal.push(radial.map((v) => v - radialMean));
  }
  while (azimuthal.length < 3) azimuthal.push(azimuthal[0]);

  let highEnergy = 0;
  let lowEnergy = 0;
  for (let i = 0; i < totalPower.length; i++) {
    const bin = bins[i];
    if (bin < 0) continue;
    if (bin >= RADIAL_BINS / 2) highEnergy += totalPower[i];
    else lowEnergy += totalPower[i];
  }
  const at = (kx: number, ky: number): number => meanLog[(((ky % size) + size) % size) * size + (((kx % size) + size) % size)];
  const peaks = PEAK_PERIODS.flatMap((period) => {
    const k = size / period;
    if (k < 3) return [0, 0]; // too coarse a tile to resolve this period
    const axis = (peakHeight(at, k, 0) + peakHeight(at, 0, k)) / 2;
    const diagonal = (peakHeight(at, k, k) + peakHeight(at, k, -k)) / 2;
    return [axis, diagonal];
  });

  const logPower = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const row = ((y + half) % size) * size;
    for (let x = 0; x < size; x++) logPower[y * size + x] = meanLog[row + ((x + half) % size)];
  }

  return {
    features: [...azimuthal.flat(), ...peaks, Math.log((highEnergy + 1e-9) / (lowEnergy + 1e-9)), ...dctFeatures(image)],
    tile: size,
    tiles,
    logPower,
  };
}

/** The trained part of a pixel-feature signal (spectral, residual), stored in the probe file. */
export interface FeatureModel {
  featureNames: string[];
  model: LogisticModel;
  calibration: PlattCalibration;
}

/** Score of a pixel-feature signal (pure): raw = the logistic model's log-odds over the features; score = its Platt-calibrated probability. */
export function scoreFeatures(features: readonly number[], model: FeatureModel): SignalScore {
  const raw = decisionValue(model.model, features);
  return { raw, score: applyPlatt(model.calibration, raw) };
}
