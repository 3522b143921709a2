import { join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../core/files.js';

/**
 * Evidence images: what a reviewer looks at to see why a signal fired. Written beside results.json
 * under evidence/, referenced by relative path.
 */

/** File-system-safe stem of an untrusted file name. */
export function safeStem(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? 'image';
  return base.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'image';
}

const HISTOGRAM_BINS = 4096;

/**
 * Approximate quantiles of values (within 1/4096 of their range) from one histogram pass: the
 * spectrum image needs two percentiles per evidence image, and copying and sorting every spectrum
 * cost more than the rest of writing it.
 */
export function histogramQuantiles(values: Float32Array, qs: readonly number[]): number[] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return qs.map(() => min);
  const counts = new Uint32Array(HISTOGRAM_BINS);
  const scale = (HISTOGRAM_BINS - 1) / (max - min);
  for (const v of values) counts[Math.floor((v - min) * scale)]++;
  return qs.map((q) => {
    const target = Math.floor(values.length * q);
    let seen = 0;
    for (let b = 0; b < HISTOGRAM_BINS; b++) {
      seen += counts[b];
      if (seen > target) return min + b / scale;
    }
    return max;
  });
}

/** The log power spectrum (DC centred) as an 8-bit greyscale PNG stretched to its 1st..99.9th percentile, at least 256 px wide. */
export async function spectrumPng(logPower: Float32Array, size: number): Promise<Buffer> {
  const [low, high] = histogramQuantiles(logPower, [0.01, 0.999]);
  const scale = Math.max(1, Math.ceil(256 / size));
  const side = size * scale;
  // The nearest-neighbour blow-up is written here: a sharp resize step costs more than the copy.
  const pixels = new Uint8Array(side * side);
  for (let y = 0; y < size; y++) {
    const row = new Uint8Array(side);
    for (let x = 0; x < size; x++) row.fill(Math.round(255 * Math.min(1, Math.max(0, (logPower[y * size + x] - low) / (high - low || 1)))), x * scale, (x + 1) * scale);
    for (let r = 0; r < scale; r++) pixels.set(row, (y * scale + r) * side);
  }
  return (
    sharp(pixels, { raw: { width: side, height: side, channels: 1 } })
      // Fastest deflate: the image is a nearest-neighbour blow-up, a few kB at any level.
      .png({ compressionLevel: 1 })
      .toBuffer()
  );
}

/** Per-patch error grid as a heat PNG (black → red → yellow, relative to the image's largest patch error; grey = never masked). */
export async function heatmapPng(patchErrors: Float32Array, grid: number): Promise<Buffer> {
  let max = 0;
  for (const v of patchErrors) if (Number.isFinite(v)) max = Math.max(max, v);
  const pixels = new Uint8Array(grid * grid * 3);
  for (let i = 0; i < grid * grid; i++) {
    const v = patchErrors[i];
    if (!Number.isFinite(v)) {
      pixels.set([96, 96, 96], i * 3);
      continue;
    }
    const t = max > 0 ? v / max : 0;
    pixels.set([Math.round(255 * Math.min(1, 2 * t)), Math.round(255 * Math.max(0, 2 * t - 1)), 0], i * 3);
  }
  const scale = Math.max(1, Math.ceil(224 / grid));
  return sharp(pixels, { raw: { width: grid, height: grid, channels: 3 } })
    .resize(grid * scale, grid * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
}

/** Writes an evidence image and returns its path relative to the results folder. */
export async function writeEvidence(outDir: string, fileName: string, png: Buffer): Promise<string> {
  const relative = `evidence/${fileName}`;
  await writeFileAtomic(join(outDir, relative), png);
  return relative;
}
