import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { analyzeResidual, residualRegion, residualSummary } from '../../src/screen/signals/residual.js';
import { analyzeSpectrum, type GrayImage } from '../../src/screen/signals/spectral.js';

/**
 * The fast-path features are computed by fused passes (residual) and an FFT-based DCT (spectral)
 * for speed; the probe was trained on the straightforward definitions. These reference
 * implementations are those definitions, written plainly: the fast code must give the same
 * features (exactly for the residual's integer sums, to float rounding for the DCT), on odd sizes
 * and on images smaller than the analysis regions too.
 */

/** NPR residual and phase-difference features of one plane, as defined (one pass per quantity). */
function referenceChannel(p: Int16Array, w: number, h: number): number[] {
  const EPS = 1e-6;
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
  // Lag-1 products of the signed second differences and pair counts, by the phase (mod 8) of the
  // first of each pair (n, n + 1) along rows and along columns, then Σ d2(n)² and its count.
  const lag = new Array<number>(18).fill(0);
  const horizontal = (y: number, x: number): number => p[y * w + x - 1] - 2 * p[y * w + x] + p[y * w + x + 1];
  const vertical = (y: number, x: number): number => p[(y - 1) * w + x] - 2 * p[y * w + x] + p[(y + 1) * w + x];
  for (let y = 0; y < h; y++) {
    for (let x = 1; x + 1 < w; x++) {
      lag[16] += horizontal(y, x) ** 2;
      lag[17]++;
      if (x + 2 < w) {
        lag[x & 7] += horizontal(y, x) * horizontal(y, x + 1);
        lag[8 + (x & 7)]++;
      }
    }
  }
  for (let x = 0; x < w; x++) {
    for (let y = 1; y + 1 < h; y++) {
      lag[16] += vertical(y, x) ** 2;
      lag[17]++;
      if (y + 2 < h) {
        lag[y & 7] += vertical(y, x) * vertical(y + 1, x);
        lag[8 + (y & 7)]++;
      }
    }
  }
  return residualSummary(npr, d1, d1n, d2, d2n, lag);
}


/** Frank et al.'s DCT features through the O(n²) orthonormal basis product. */
function referenceDct(image: GrayImage): number[] {
  const n = 64;
  if (image.width < n || image.height < n) return [0, 0, 0, 0, 0];
  const c = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) c[k * n + i] = Math.sqrt((k === 0 ? 1 : 2) / n) * Math.cos((Math.PI * (2 * i + 1) * k) / (2 * n));
  const left = Math.floor((image.width - n) / 2);
  const top = Math.floor((image.height - n) / 2);
  const t = new Float64Array(n * n);
  for (let y = 0; y < n; y++) for (let k = 0; k < n; k++) for (let x = 0; x < n; x++) t[y * n + k] += image.data[(top + y) * image.width + left + x] * c[k * n + x];
  const d = new Float64Array(n * n);
  let high = 0;
  let low = 0;
  for (let ky = 0; ky < n; ky++) {
    for (let kx = 0; kx < n; kx++) {
      for (let y = 0; y < n; y++) d[ky * n + kx] += c[ky * n + y] * t[y * n + kx];
      if (kx === 0 && ky === 0) continue;
      if (kx + ky >= n) high += d[ky * n + kx] ** 2;
      else low += d[ky * n + kx] ** 2;
    }
  }
  const at = (kx: number, ky: number): number => Math.log(d[Math.min(n - 1, Math.abs(ky)) * n + Math.min(n - 1, Math.abs(kx))] ** 2 + 1e-3);
  const peak = (kx: number, ky: number): number => {
    const ring: number[] = [];
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (Math.max(Math.abs(dx), Math.abs(dy)) === 2) ring.push(at(kx + dx, ky + dy));
    ring.sort((a, b) => a - b);
    return at(kx, ky) - (ring[7] + ring[8]) / 2;
  };
  return [...[32, 16].flatMap((k) => [(peak(k, 0) + peak(0, k)) / 2, peak(k, k)]), Math.log((high + 1e-9) / (low + 1e-9))];
}

/** A colour image with smooth structure, grain and (for some seeds) a 2-pixel grid, as upsampling leaves. */
function testImage(seed: number, width: number, height: number): GrayImage {
  const random = new SeededRandom(seed);
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const grid = seed % 2 === 0 ? ((x >> 1) + (y >> 1)) % 2 : x % 2;
        pixels[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(128 + 60 * Math.sin((x + 7 * c) / 9) * Math.cos(y / 13) + 20 * grid + 12 * random.normal())));
      }
    }
  }
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (77 * pixels[3 * i] + 150 * pixels[3 * i + 1] + 29 * pixels[3 * i + 2] + 128) >> 8;
  return { data, width, height, pixels, channels: 3 };
}

const SIZES: [number, number][] = [[256, 256], [193, 201], [101, 77], [33, 40], [64, 65]];

describe('fast-path features equal their plain definitions', () => {
  it('residual: fused single pass gives exactly the per-quantity passes, per channel, at even and odd sizes', () => {
    SIZES.forEach(([width, height], seed) => {
      const image = testImage(seed, width, height);
      const w = Math.min(192, width);
      const h = Math.min(192, height);
      const { left, top } = residualRegion(width, height, w, h);
      const expected = [0, 1, 2].flatMap((c) => {
        const plane = new Int16Array(w * h);
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) plane[y * w + x] = image.pixels![((top + y) * width + left + x) * 3 + c];
        return referenceChannel(plane, w, h);
      });
      expect(analyzeResidual(image).features.slice(0, -1)).toEqual(expected);
    });
  });

  it('spectral: the FFT-based DCT gives the basis-product DCT features to float rounding', () => {
    SIZES.forEach(([width, height], seed) => {
      const image = testImage(seed + 10, width, height);
      const fast = analyzeSpectrum(image).features.slice(-5);
      const reference = referenceDct(image);
      fast.forEach((value, i) => expect(value).toBeCloseTo(reference[i], 8));
      if (width >= 64 && height >= 64) expect(reference.some((v) => v !== 0)).toBe(true);
    });
  });
});
