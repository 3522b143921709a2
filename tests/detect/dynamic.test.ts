/**
 * DETR's variable-size input: DetrImageProcessor's shortest/longest-edge resize, padding to the
 * batch's largest image with a pixel_mask, and boxes back in each original image's pixels. The
 * fixture graph (fixtures/detect/make_dynamic_detr.py) reports the box of the bright pixels inside
 * the mask, normalised by the unpadded size, so a wrong mask or normalisation moves the box.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { detectObjects, detrResizeSize, padBatch, type DetectionObservation } from '../../src/detect/infer.js';
import { describeDenseFolder, loadDenseModel } from '../../src/detect/model.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DYNAMIC = join(ROOT, 'fixtures/detect/models/dynamic-detr');
const FIXED = join(ROOT, 'fixtures/detect/models/detector');

/** A black image with one white rectangle (corners in pixels). */
async function scene(width: number, height: number, rect: { x0: number; y0: number; x1: number; y1: number }) {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = rect.y0; y < rect.y1; y++) raw.fill(255, (y * width + rect.x0) * 3, (y * width + rect.x1) * 3);
  return { bytes: new Uint8Array(await sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer()), rect };
}

/** Runs `body` on a temporary copy of the model folder `source` whose processor has this `size`. */
async function withProcessorSize(source: string, size: Record<string, number>, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-detr-'));
  try {
    cpSync(source, dir, { recursive: true });
    const processor = JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ ...processor, size }));
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function detect(dir: string, images: { name: string; bytes: Uint8Array }[], batchSize: number): Promise<DetectionObservation[]> {
  const model = await loadDenseModel(dir);
  try {
    const out: DetectionObservation[] = [];
    for await (const obs of detectObjects(model, images, { batchSize, cacheDir: false })) out.push(obs as DetectionObservation);
    return out;
  } finally {
    await model.release();
  }
}

describe('DETR variable-size preprocessing', () => {
  it('computes DetrImageProcessor sizes (hand-computed cases)', () => {
    // 480×640, shortest 800 / longest 1333: the long side 1066.7 fits, truncated.
    expect(detrResizeSize(480, 640, 800, 1333)).toEqual({ height: 800, width: 1066 });
    // 1000×200: 4000 > 1333, so the long side becomes 1333 and the short one round(266.6) = 267.
    expect(detrResizeSize(1000, 200, 800, 1333)).toEqual({ height: 1333, width: 267 });
    // Already at the size: unchanged. No longest edge: only the short side counts.
    expect(detrResizeSize(800, 1200, 800, 1333)).toEqual({ height: 800, width: 1200 });
    expect(detrResizeSize(100, 400, 50, null)).toEqual({ height: 50, width: 200 });
  });

  it('pads a batch at the bottom and right to its largest image, with pixel_mask 1 only over real pixels', () => {
    const a = { height: 1, width: 3, data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
    const b = { height: 2, width: 1, data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const batch = padBatch([a, b]);
    expect([batch.height, batch.width]).toEqual([2, 3]);
    expect(Array.from(batch.pixels.subarray(0, 6))).toEqual([1, 2, 3, 0, 0, 0]);
    expect(Array.from(batch.pixels.subarray(18, 24))).toEqual([1, 0, 0, 2, 0, 0]);
    expect(Array.from(batch.mask, Number)).toEqual([1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
  });

  it('detects in images of different shapes batched together, boxes in each original image', async () => {
    // 90×60 → 48×72 and 50×120 → 80×33 (longest edge): the batch pads each along a different side.
    const images = [
      { name: 'wide.png', ...(await scene(90, 60, { x0: 20, y0: 10, x1: 40, y1: 30 })) },
      { name: 'tall.png', ...(await scene(50, 120, { x0: 5, y0: 70, x1: 25, y1: 100 })) },
    ];
    const info = await describeDenseFolder(DYNAMIC, 'cpu');
    expect(info?.info.details).toMatchObject({ pixelMask: true, variableSize: { shortestEdge: 48, longestEdge: 80 } });
    const batched = await detect(DYNAMIC, images, 2);
    batched.forEach((obs, i) => {
      const { rect } = images[i];
      expect([obs.width, obs.height]).toEqual(i === 0 ? [90, 60] : [50, 120]);
      expect(obs.objects).toHaveLength(1);
      const box = obs.objects[0].box;
      // Resampling blurs the edges a little: within 1.5 original pixels.
      expect(Math.abs(box.xmin - rect.x0)).toBeLessThan(1.5);
      expect(Math.abs(box.ymin - rect.y0)).toBeLessThan(1.5);
      expect(Math.abs(box.xmax - rect.x1)).toBeLessThan(1.5);
      expect(Math.abs(box.ymax - rect.y1)).toBeLessThan(1.5);
    });
    // One image per batch (no padding) gives the same boxes: the mask hides the padding.
    const single = await detect(DYNAMIC, images, 1);
    single.forEach((obs, i) => {
      for (const k of ['xmin', 'ymin', 'xmax', 'ymax'] as const) expect(obs.objects[0].box[k]).toBeCloseTo(batched[i].objects[0].box[k], 3);
    });
  });

  it('keeps the fixed-size path for the same graph when the processor gives a fixed size', async () => {
    await withProcessorSize(DYNAMIC, { height: 64, width: 64 }, async (dir) => {
      const model = await loadDenseModel(dir);
      expect(model.variableSize).toBeNull();
      await model.release();
      const image = { name: 'wide.png', ...(await scene(90, 60, { x0: 20, y0: 10, x1: 40, y1: 30 })) };
      const [obs] = await detect(dir, [image], 1);
      expect(Math.abs(obs.objects[0].box.xmin - 20)).toBeLessThan(1.5);
      expect(Math.abs(obs.objects[0].box.ymax - 30)).toBeLessThan(1.5);
    });
  });

  it('rejects a shortest/longest-edge processor on a fixed-size graph, naming the file and what it needs', async () => {
    await withProcessorSize(FIXED, { shortest_edge: 64, longest_edge: 96 }, async (dir) => {
      await expect(loadDenseModel(dir)).rejects.toThrow(/onnx\/model\.onnx to have a dynamic height and width .*pixel_mask/);
    });
  });
});
