/**
 * Parity of the bundled detector and segmenter with PyTorch: tools/train_detectors.py wrote the
 * model's outputs for a few probe images (fixtures/detect/models/<kind>/parity); onnxruntime in
 * vigil must reproduce them from the same pixel_values, and vigil's own preprocessing (sharp) must
 * come close to the PIL processor's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDenseModel, type DenseModel } from '../../src/detect/model.js';
import { preprocessImage } from '../../src/vision/images.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface Entry { file: string; shape: number[] }
interface Index { images: { name: string; image: string; tensors: Record<string, Entry> }[] }

function tensor(dir: string, entry: Entry): Float32Array {
  const bytes = readFileSync(join(dir, entry.file));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

for (const kind of ['detector', 'segmenter'] as const) {
  describe(`${kind} parity with PyTorch`, () => {
    const dir = join(ROOT, 'fixtures/detect/models', kind);
    const parity = join(dir, 'parity');
    const index = JSON.parse(readFileSync(join(parity, 'index.json'), 'utf8')) as Index;
    let model: DenseModel;
    beforeAll(async () => {
      model = await loadDenseModel(dir);
    });
    afterAll(async () => {
      await model.release();
    });

    it('onnxruntime reproduces the PyTorch outputs from the same pixel_values (max |diff| <= 1e-4)', async () => {
      for (const entry of index.images) {
        const pixels = entry.tensors.pixel_values;
        const feeds = { pixel_values: new ort.Tensor('float32', tensor(parity, pixels), pixels.shape) };
        const outputs = Object.keys(entry.tensors).filter((name) => name !== 'pixel_values');
        const result = await model.session.run(feeds, outputs);
        for (const name of outputs) {
          expect(result[name].dims).toEqual(entry.tensors[name].shape);
          expect(maxAbsDiff(result[name].data as Float32Array, tensor(parity, entry.tensors[name])), `${entry.name} ${name}`).toBeLessThanOrEqual(1e-4);
        }
      }
    });

    it("vigil's preprocessing (sharp, 96×96 → 64×64 bilinear) is close to the PIL processor's", async () => {
      for (const entry of index.images) {
        const image = await preprocessImage(readFileSync(join(ROOT, entry.image)), model.preprocessing);
        const expected = tensor(parity, entry.tensors.pixel_values);
        let sum = 0;
        for (let i = 0; i < expected.length; i++) sum += Math.abs(image.data[i] - expected[i]);
        // sharp's and PIL's bilinear downscaling filters differ slightly (docs/vision.md)
        expect(sum / expected.length, entry.name).toBeLessThan(0.05);
      }
    });
  });
}
