/**
 * Detection model runs: raw outputs are cached like the other kinds (a second run infers
 * nothing and gives the same objects), boxes are in pixels of the original image, and annotated
 * file names cannot reach outside the images folder.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { detectObjects, type DetectionObservation } from '../../src/detect/infer.js';
import { describeDenseFolder, loadDenseModel } from '../../src/detect/model.js';
import { detectProbeImages } from '../../src/detect/probe.js';
import type { CocoGroundTruth } from '../../src/probes/coco.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MODEL = join(ROOT, 'fixtures/detect/models/detector');
const IMAGES = join(ROOT, 'fixtures/detect/planted/images');
const noProgress = () => ({ setTotal() {}, increment() {}, stop() {} });

async function collect(stream: AsyncIterable<unknown>): Promise<DetectionObservation[]> {
  const out: DetectionObservation[] = [];
  for await (const obs of stream) out.push(obs as DetectionObservation);
  return out;
}

describe('detector runs', () => {
  it('caches raw outputs: the second run infers nothing and returns the same objects', async () => {
    const model = await loadDenseModel(MODEL);
    const cacheDir = mkdtempSync(join(tmpdir(), 'vigil-detect-cache-'));
    const files = ['planted-0000.png', 'planted-0002.png', 'planted-0003.png'].map((f) => join(IMAGES, f));
    try {
      const first = await collect(detectObjects(model, files, { cacheDir, threshold: 0.3 }));
      expect(model.stats.imagesInferred).toBe(3);
      const second = await collect(detectObjects(model, files, { cacheDir, threshold: 0.3 }));
      expect(model.stats.imagesInferred).toBe(3);
      expect(model.stats.cacheHits).toBe(3);
      expect(second.map((o) => o.objects)).toEqual(first.map((o) => o.objects));
      expect(second.every((o) => o.cached)).toBe(true);
    } finally {
      await model.release();
    }
  });

  it('boxes refer to the original image: the same scene at twice the size gives boxes twice as large', async () => {
    const model = await loadDenseModel(MODEL);
    try {
      const bytes = readFileSync(join(IMAGES, 'planted-0002.png'));
      const big = await sharp(bytes).resize(192, 192, { kernel: 'nearest' }).png().toBuffer();
      const [small, large] = await collect(detectObjects(model, [{ name: 'small.png', bytes: new Uint8Array(bytes) }, { name: 'large.png', bytes: new Uint8Array(big) }], { cacheDir: false, threshold: 0.5 }));
      expect(small.width).toBe(96);
      expect(large.width).toBe(192);
      expect(small.objects.length).toBeGreaterThan(0);
      const best = (o: DetectionObservation) => [...o.objects].sort((a, b) => b.score - a.score)[0];
      // the model sees nearly the same 64×64 input, so the normalised boxes agree closely
      expect(best(large).box.xmin / 2).toBeCloseTo(best(small).box.xmin, 0);
      expect(best(large).box.ymax / 2).toBeCloseTo(best(small).box.ymax, 0);
    } finally {
      await model.release();
    }
  });

  it('an annotated file name outside the images folder is a failure, never read', async () => {
    const gt: CocoGroundTruth = {
      path: 'gt.json',
      sha256: 'x',
      format: 'coco',
      categories: [{ id: 1, name: 'person' }],
      images: [
        { id: 1, file_name: 'planted-0000.png', width: 96, height: 96 },
        { id: 2, file_name: '../control/images/control-0000.png', width: 96, height: 96 },
        { id: 3, file_name: '/etc/passwd', width: 96, height: 96 },
      ],
      annotations: [1, 2, 3].map((id) => ({ id, image_id: id, category_id: 1, bbox: [10, 10, 20, 40], area: 800, iscrowd: false, attributes: { skin_tone: 'lighter' } })),
    };
    const observed = await detectProbeImages(gt, MODEL, IMAGES, { cacheDir: false, progress: noProgress, label: 'test' });
    expect(observed.failures.map((f) => f.file)).toEqual(['../control/images/control-0000.png', '/etc/passwd']);
    expect(observed.failures[0].error).toContain('escapes');
    expect(observed.failures[1].error).toContain('absolute');
    // the failed images and their annotations are left out, so they cannot count as missed persons
    expect(observed.groundTruth.images.map((i) => i.id)).toEqual([1]);
    expect(observed.groundTruth.annotations.map((a) => a.id)).toEqual([1]);
  });

  it('models info describes detector and segmenter folders and leaves other kinds to the vision stack', async () => {
    const detector = await describeDenseFolder(MODEL, 'cpu');
    expect(detector?.info).toMatchObject({ kind: 'detection', architecture: 'YolosForObjectDetection', labels: ['person'], outputs: ['logits', 'pred_boxes'] });
    expect(detector?.text).toContain('queries 64, pixel_mask no');
    const segmenter = await describeDenseFolder(join(ROOT, 'fixtures/detect/models/segmenter'), 'cpu');
    expect(segmenter?.info).toMatchObject({ kind: 'segmentation', labels: ['background', 'person'] });
    expect(await describeDenseFolder(join(ROOT, 'fixtures/models/vit'), 'cpu')).toBeNull();
  });
});

