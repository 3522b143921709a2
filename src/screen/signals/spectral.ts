import FFT from 'fft.js';
import { invalidArgument } from '../../core/errors.js';
import { applyPlatt, decisionValue, type LogisticModel, type PlattCalibration } from '../logistic.js';
import type { SignalMeta, SignalScore } from './types.js';

export const spectralMeta: SignalMeta = {
  id: 'spectral',
  title: 'Frequency spectrum',
  description:
    'Azimuthally averaged log power spectrum and peaks at the periodic frequencies that 2x/4x/8x upsampling ' +
    '(transposed convolutions, nearest-neighbour upsampling) and 8x8 block coding leave, scored by a logistic ' +
    'model trained on labeled images (Durall et al. 2020, Frank et al. 2020). Resampling, strong JPEG and blur ' +
    'weaken these artifacts.',
  requires: 'a trained spectral model (in the probe file)',
};

/** Largest analysis tile; images are analysed at native resolution, never resized (resizing erases the artifacts). */
export const MAX_TILE = 128;
/** Smallest side accepted. */
export const MIN_SIDE = 32;
const RADIAL_BINS = 16;
/** Periods whose harmonics upsampling (2, 4) and 8×8 block transforms (8) make periodic. */
const PEAK_PERIODS = [2, 4, 8] as const;

export const SPECTRAL_FEATURE_NAMES: readonly string[] = [
  ...Array.from({ length: RADIAL_BINS }, (_, i) => `radial_${i}`),
  ...PEAK_PERIODS.flatMap((p) => [`peak_axis_period_${p}`, `peak_diagonal_period_${p}`]),
  'high_to_low_energy',
];

export interface GrayImage {
  /** 8-bit luma, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

export interface SpectralAnalysis {
  features: number[];
  /** Tile side the spectrum was computed at. */
  tile: number;
  /** Tiles averaged (Welch's method: averaging tile spectra lowers the variance of the estimate). */
  tiles: number;
  /** Mean log power spectrum, tile × tile, DC at the centre (fftshifted): the evidence image. */
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

/**
 * Adds the power spectrum of one Hann-windowed, mean-removed tile to `power` (tile × tile, DC at
 * [0,0]). Rows are real transforms; by Hermitian symmetry only columns 0..tile/2 need a column
 * transform, the rest is mirrored.
 */
function accumulateTilePower(image: GrayImage, left: number, top: number, size: number, power: Float64Array): void {
  const p = plan(size);
  let mean = 0;
  for (let y = 0; y < size; y++) {
    const offset = (top + y) * image.width + left;
    for (let x = 0; x < size; x++) mean += image.data[offset + x];
  }
  mean /= size * size;
  for (let y = 0; y < size; y++) {
    const offset = (top + y) * image.width + left;
    const wy = p.window[y];
    for (let x = 0; x < size; x++) p.row[x] = (image.data[offset + x] - mean) * wy * p.window[x];
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

/**
 * Spectral features of an image (pure): Welch-averaged power spectrum over up to 2×2 tiles from the
 * image centre at native resolution, its radial profile, and upsampling peak strengths.
 */
export function analyzeSpectrum(image: GrayImage): SpectralAnalysis {
  const side = Math.min(image.width, image.height);
  if (side < MIN_SIDE) throw invalidArgument('image size', `at least ${MIN_SIDE}×${MIN_SIDE} pixels for spectral analysis`, `${image.width}×${image.height}`);
  const size = Math.min(MAX_TILE, largestPowerOfTwoAtMost(side));
  const nx = Math.min(2, Math.floor(image.width / size));
  const ny = Math.min(2, Math.floor(image.height / size));
  const left0 = Math.floor((image.width - nx * size) / 2);
  const top0 = Math.floor((image.height - ny * size) / 2);
  const power = new Float64Array(size * size);
  for (let ty = 0; ty < ny; ty++) for (let tx = 0; tx < nx; tx++) accumulateTilePower(image, left0 + tx * size, top0 + ty * size, size, power);

  const tiles = nx * ny;
  const log = new Float64Array(size * size);
  // Log of mean power per pixel²; the +1e-3 floor keeps flat (synthetic-smooth) regions finite.
  for (let i = 0; i < log.length; i++) log[i] = Math.log(power[i] / (tiles * size * size) + 1e-3);

  const half = size / 2;
  const bins = radialBins(size);
  const radialSum = new Float64Array(RADIAL_BINS);
  const radialCount = new Float64Array(RADIAL_BINS);
  let highEnergy = 0;
  let lowEnergy = 0;
  for (let i = 0; i < log.length; i++) {
    const bin = bins[i];
    if (bin < 0) continue;
    radialSum[bin] += log[i];
    radialCount[bin] += 1;
    if (bin >= RADIAL_BINS / 2) highEnergy += power[i];
    else lowEnergy += power[i];
  }
  const radial = Array.from(radialSum, (s, i) => (radialCount[i] > 0 ? s / radialCount[i] : 0));
  // Brightness and contrast shift the whole profile; its shape is what upsampling changes.
  const radialMean = radial.reduce((a, b) => a + b, 0) / radial.length;

  const at = (kx: number, ky: number): number => log[(((ky % size) + size) % size) * size + (((kx % size) + size) % size)];
  /** Log power at a frequency minus the median of its 5×5 neighbourhood ring: a local peak height. */
  const peak = (kx: number, ky: number): number => {
    const ring: number[] = [];
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (Math.max(Math.abs(dx), Math.abs(dy)) === 2) ring.push(at(kx + dx, ky + dy));
    ring.sort((a, b) => a - b);
    return at(kx, ky) - (ring[ring.length / 2 - 1] + ring[ring.length / 2]) / 2;
  };
  const peaks = PEAK_PERIODS.flatMap((period) => {
    const k = size / period;
    if (k < 3) return [0, 0]; // too coarse a tile to resolve this period
    const axis = (peak(k, 0) + peak(0, k)) / 2;
    const diagonal = (peak(k, k) + peak(k, -k)) / 2;
    return [axis, diagonal];
  });

  const logPower = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const row = ((y + half) % size) * size;
    for (let x = 0; x < size; x++) logPower[y * size + x] = log[row + ((x + half) % size)];
  }

  return {
    features: [...radial.map((v) => v - radialMean), ...peaks, Math.log((highEnergy + 1e-9) / (lowEnergy + 1e-9))],
    tile: size,
    tiles,
    logPower,
  };
}

/** The trained part of the spectral signal (stored in the probe file). */
export interface SpectralModel {
  featureNames: string[];
  model: LogisticModel;
  calibration: PlattCalibration;
}

/** Spectral score (pure): raw = the logistic model's log-odds over the features; score = its Platt-calibrated probability. */
export function scoreSpectral(analysis: SpectralAnalysis, model: SpectralModel): SignalScore {
  const raw = decisionValue(model.model, analysis.features);
  return { raw, score: applyPlatt(model.calibration, raw) };
}
