import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, maeNoise, reconstruct } from '../../src/vision/index.js';
import type { MaeModel } from '../../src/vision/index.js';
import { patchify } from '../../src/vision/reconstruct.js';
import { collect, tempDir, TINY } from './helpers.js';

const scratch = tempDir('mae');
let mae: MaeModel;
let image: string;

beforeAll(async () => {
  const model = await loadModel(TINY.mae);
  if (model.kind !== 'mae') throw new Error('expected mae');
  mae = model;
  image = join(scratch.path, 'noise.png');
  const data = Buffer.alloc(32 * 32 * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
  await sharp(data, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(image);
});

afterAll(async () => {
  await mae?.release();
  scratch.remove();
});

describe('maeNoise', () => {
  it('is reproducible from the seed, uniform in [0, 1) and float32-exact', () => {
    const a = maeNoise(196, 42);
    expect(Array.from(maeNoise(196, 42))).toEqual(Array.from(a));
    expect(Array.from(maeNoise(196, 43))).not.toEqual(Array.from(a));
    expect(a.every((v) => v >= 0 && v < 1 && Math.fround(v) === v)).toBe(true);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean).toBeGreaterThan(0.4);
    expect(mean).toBeLessThan(0.6);
  });
});

describe('patchify', () => {
  it('orders patches row-major and values within a patch as (row, column, channel)', () => {
    // 2 channels would be wrong for MAE; use 3 channels, 4x4 image, patch 2 → 4 patches of 12 values.
    const h = 4;
    const w = 4;
    const image3 = new Float32Array(3 * h * w).map((_, i) => i);
    const patches = patchify(image3, h, w, 2);
    // Patch 1 is the top-right block: rows 0-1, columns 2-3. First value: row 0, col 2, channel 0.
    const value = (c: number, y: number, x: number) => c * h * w + y * w + x;
    expect(Array.from(patches.subarray(12, 18))).toEqual([value(0, 0, 2), value(1, 0, 2), value(2, 0, 2), value(0, 0, 3), value(1, 0, 3), value(2, 0, 3)]);
    expect(patches[3 * 12 + 11]).toBe(value(2, 3, 3));
  });
});

describe('reconstruct', () => {
  it('masks the patches with the largest noise (argsort semantics) at the configured ratio', async () => {
    const [obs] = await collect(reconstruct(mae, [image], { seed: 7, masks: 1, cacheDir: false }));
    if (obs.error !== undefined) throw new Error(obs.error);
    const noise = maeNoise(mae.numPatches, 7);
    const keep = Math.trunc(mae.numPatches * (1 - mae.maskRatio));
    const kept = Array.from(noise.keys())
      .sort((a, b) => noise[a] - noise[b])
      .slice(0, keep)
      .sort((a, b) => a - b);
    const unmasked = Array.from(obs.patchErrors.keys()).filter((p) => Number.isNaN(obs.patchErrors[p]));
    expect(unmasked).toEqual(kept);
    const masked = Array.from(obs.patchErrors).filter((v) => !Number.isNaN(v));
    expect(masked).toHaveLength(mae.numPatches - keep);
    expect(obs.reconstructionError).toBeCloseTo(masked.reduce((s, v) => s + v, 0) / masked.length, 6);
    expect(obs.masks).toBe(1);
  });

  it('averages over several seeded masks, reproducibly', async () => {
    const run = (seed: number, masks: number) => collect(reconstruct(mae, [image], { seed, masks, cacheDir: false }));
    const [a] = await run(1, 3);
    const [b] = await run(1, 3);
    const [single] = await run(1, 1);
    if (a.error !== undefined || b.error !== undefined || single.error !== undefined) throw new Error('failed');
    expect(a.reconstructionError).toBe(b.reconstructionError);
    expect(Array.from(a.patchErrors)).toEqual(Array.from(b.patchErrors));
    expect(a.reconstructionError).not.toBe(single.reconstructionError);
    const per = await Promise.all([1, 2, 3].map((seed) => run(seed, 1)));
    const mean = per.reduce((s, [o]) => s + (o.error === undefined ? o.reconstructionError : NaN), 0) / 3;
    expect(a.reconstructionError).toBeCloseTo(mean, 6);
  });

  it('honours norm_pix_loss', async () => {
    const dir = join(scratch.path, 'mae-raw-pixels');
    cpSync(TINY.mae, dir, { recursive: true });
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), norm_pix_loss: false }));
    const raw = await loadModel(dir);
    if (raw.kind !== 'mae') throw new Error('expected mae');
    const [withNorm] = await collect(reconstruct(mae, [image], { seed: 3, cacheDir: false }));
    const [without] = await collect(reconstruct(raw, [image], { seed: 3, cacheDir: false }));
    await raw.release();
    if (withNorm.error !== undefined || without.error !== undefined) throw new Error('failed');
    expect(raw.normPixLoss).toBe(false);
    expect(Math.abs(withNorm.reconstructionError - without.reconstructionError)).toBeGreaterThan(1e-3);
  });

  it('caches per seed and mask count', async () => {
    const cacheDir = join(scratch.path, 'cache');
    await collect(reconstruct(mae, [image], { seed: 5, masks: 2, cacheDir }));
    const inferred = mae.stats.imagesInferred;
    const [again] = await collect(reconstruct(mae, [image], { seed: 5, masks: 2, cacheDir }));
    expect(again.error === undefined && again.cached).toBe(true);
    expect(mae.stats.imagesInferred).toBe(inferred);
    const [other] = await collect(reconstruct(mae, [image], { seed: 6, masks: 2, cacheDir }));
    expect(other.error === undefined && other.cached).toBe(false);
  });

  it('requires an integer seed', async () => {
    await expect(collect(reconstruct(mae, [image], { seed: 0.5 }))).rejects.toThrow('Expected an integer for seed but received 0.5');
  });
});
