/**
 * Parity with the PyTorch reference: the fixtures in fixtures/models/<kind>/parity were written by
 * tools/train_models.py (PyTorch + PIL preprocessing identical to transformers'). Images at the
 * model input size must match to float32 rounding; resized images (sharp cubic vs PIL bicubic)
 * get a looser, stated bound.
 */
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, cosine, maxAbsDiff, REPO_ROOT, tempDir } from './helpers.js';
import { classify, embedImages, embedTexts, loadModel, maePatchErrors, preprocessImage } from '../../src/vision/index.js';
import type { ClipModel, MaeModel, VitModel } from '../../src/vision/index.js';
import { tokenizerOf } from '../../src/vision/model.js';

const MODELS = join(REPO_ROOT, 'fixtures/models');

/**
 * Bounds for resized inputs, where sharp's and PIL's resize kernels differ (see docs/vision.md).
 * Measured on the fixtures: bicubic max 0.028 / mean 0.004, bilinear max 0.008 / mean 0.002 in
 * normalised units; embedding cosine ≥ 0.9998. The bounds leave room for other images (sharp's
 * cubic and PIL's bicubic can differ by ~0.06 at sharp edges).
 */
const RESIZED = { pixelMaxAbs: 0.08, pixelMeanAbs: 0.01, embeddingCosine: 0.999 };

interface TensorEntry {
  file: string;
  shape: number[];
}
interface ParityImage {
  name: string;
  image: string;
  width: number;
  height: number;
  at_input_size: boolean;
  label: string;
  predicted?: string;
  reconstruction_error?: number;
  tensors: Record<string, TensorEntry>;
}
interface ParityIndex {
  images: ParityImage[];
  texts?: { text: string; input_ids: number[]; attention_mask: number[]; tensors: Record<string, TensorEntry> }[];
  logits_per_image?: TensorEntry;
  logit_scale?: number;
}

function parity(kind: string): { dir: string; index: ParityIndex; tensor: (entry: TensorEntry) => Float32Array } {
  const dir = join(MODELS, kind, 'parity');
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as ParityIndex;
  const tensor = (entry: TensorEntry) => {
    const bytes = readFileSync(join(dir, entry.file));
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(values.length).toBe(entry.shape.reduce((a, b) => a * b, 1));
    return values;
  };
  return { dir, index, tensor };
}

async function pixelsOf(model: VitModel | ClipModel | MaeModel, file: string): Promise<Float32Array> {
  return (await preprocessImage(readFileSync(file), model.preprocessing)).data;
}

function normalized(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

describe('ViT parity', () => {
  it('matches PyTorch pixel_values and logits at input size; resized images stay within the stated bound', async () => {
    const { dir, index, tensor } = parity('vit');
    const model = await loadModel(join(MODELS, 'vit'));
    if (model.kind !== 'vit') throw new Error('expected vit');
    expect(index.images.some((e) => e.at_input_size)).toBe(true);
    expect(index.images.some((e) => !e.at_input_size)).toBe(true);
    for (const entry of index.images) {
      const file = join(dir, entry.image);
      const pixels = await pixelsOf(model, file);
      const reference = tensor(entry.tensors.pixel_values);
      const [obs] = await collect(classify(model, [file], { cacheDir: false }));
      if (obs.error !== undefined) throw new Error(obs.error);
      const logits = tensor(entry.tensors.logits);
      if (entry.at_input_size) {
        expect(maxAbsDiff(pixels, reference), entry.name).toBeLessThanOrEqual(1e-4);
        expect(maxAbsDiff(obs.logits, logits), entry.name).toBeLessThanOrEqual(1e-4);
        expect(obs.top[0].label).toBe(entry.predicted);
      } else {
        expect(maxAbsDiff(pixels, reference), entry.name).toBeLessThanOrEqual(RESIZED.pixelMaxAbs);
        expect(meanAbsDiff(pixels, reference), entry.name).toBeLessThanOrEqual(RESIZED.pixelMeanAbs);
        expect(obs.top[0].label, entry.name).toBe(entry.predicted);
      }
    }
    await model.release();
  });
});

describe('CLIP parity', () => {
  it('tokenizes exactly like the reference tokenizer and matches its text embeddings', async () => {
    const { index, tensor } = parity('clip');
    const model = await loadModel(join(MODELS, 'clip'));
    if (model.kind !== 'clip') throw new Error('expected clip');
    const texts = index.texts!;
    expect(texts.length).toBeGreaterThan(3);
    const batch = tokenizerOf(model).encodeBatch(texts.map((t) => t.text));
    texts.forEach((t, i) => {
      expect(batch.inputIds.slice(i * batch.length, (i + 1) * batch.length), t.text).toEqual(t.input_ids);
      expect(batch.attentionMask.slice(i * batch.length, (i + 1) * batch.length), t.text).toEqual(t.attention_mask);
    });
    const embeddings = await embedTexts(model, texts.map((t) => t.text));
    texts.forEach((t, i) => {
      const reference = tensor(t.tensors.text_embeds);
      expect(cosine(embeddings[i], reference), t.text).toBeGreaterThanOrEqual(0.9999);
      expect(maxAbsDiff(embeddings[i], normalized(reference)), t.text).toBeLessThanOrEqual(1e-4);
    });
    await model.release();
  });

  it('matches PyTorch pixel_values and image embeddings at input size; resized within the stated bound', async () => {
    const { dir, index, tensor } = parity('clip');
    const model = await loadModel(join(MODELS, 'clip'));
    if (model.kind !== 'clip') throw new Error('expected clip');
    for (const entry of index.images) {
      const file = join(dir, entry.image);
      const pixels = await pixelsOf(model, file);
      const [obs] = await collect(embedImages(model, [file], { cacheDir: false }));
      if (obs.error !== undefined) throw new Error(obs.error);
      const embeds = tensor(entry.tensors.image_embeds);
      if (entry.at_input_size) {
        expect(maxAbsDiff(pixels, tensor(entry.tensors.pixel_values)), entry.name).toBeLessThanOrEqual(1e-4);
        expect(cosine(obs.embedding, embeds), entry.name).toBeGreaterThanOrEqual(0.9999);
      } else {
        expect(maxAbsDiff(pixels, tensor(entry.tensors.pixel_values)), entry.name).toBeLessThanOrEqual(RESIZED.pixelMaxAbs);
        expect(cosine(obs.embedding, embeds), entry.name).toBeGreaterThanOrEqual(RESIZED.embeddingCosine);
      }
    }
    await model.release();
  });

  it('zero-shot logits equal the reference logits_per_image (exp(logit_scale) × cosine)', async () => {
    const { dir, index, tensor } = parity('clip');
    const model = await loadModel(join(MODELS, 'clip'));
    if (model.kind !== 'clip') throw new Error('expected clip');
    expect(model.logitScale).toBeCloseTo(Math.exp(index.logit_scale!), 4);
    const texts = index.texts!.map((t) => t.text);
    const reference = tensor(index.logits_per_image!);
    const results = await collect(
      classify(model, index.images.map((e) => join(dir, e.image)), { labels: texts, templates: ['{label}'], cacheDir: false }),
    );
    results.forEach((obs, i) => {
      if (obs.error !== undefined) throw new Error(obs.error);
      const row = reference.subarray(i * texts.length, (i + 1) * texts.length);
      // Logits are scaled cosines: 1e-5 in cosine is up to 1e-3 in logits at scale 100.
      if (index.images[i].at_input_size) expect(maxAbsDiff(obs.logits, row), index.images[i].name).toBeLessThanOrEqual(1e-3);
    });
    await model.release();
  });

  it('gives the combined onnx/model.onnx the same embeddings as the split towers', async () => {
    const { dir, index, tensor } = parity('clip');
    const scratch = tempDir('combined');
    try {
      const folder = join(scratch.path, 'clip');
      cpSync(join(MODELS, 'clip'), folder, { recursive: true });
      rmSync(join(folder, 'onnx/vision_model.onnx'));
      rmSync(join(folder, 'onnx/text_model.onnx'));
      const model = await loadModel(folder);
      if (model.kind !== 'clip') throw new Error('expected clip');
      expect(model.combined).toBe(true);
      const atSize = index.images.filter((e) => e.at_input_size);
      const results = await collect(embedImages(model, atSize.map((e) => join(dir, e.image)), { cacheDir: false }));
      results.forEach((obs, i) => {
        if (obs.error !== undefined) throw new Error(obs.error);
        expect(cosine(obs.embedding, tensor(atSize[i].tensors.image_embeds))).toBeGreaterThanOrEqual(0.9999);
      });
      const [text] = await embedTexts(model, [index.texts![0].text]);
      expect(cosine(text, tensor(index.texts![0].tensors.text_embeds))).toBeGreaterThanOrEqual(0.9999);
      await model.release();
    } finally {
      scratch.remove();
    }
  });
});

describe('MAE parity', () => {
  it('matches PyTorch mask, per-patch errors and reconstruction error given the same noise', async () => {
    const { dir, index, tensor } = parity('mae');
    const model = await loadModel(join(MODELS, 'mae'));
    if (model.kind !== 'mae') throw new Error('expected mae');
    for (const entry of index.images.filter((e) => e.at_input_size)) {
      const pixels = await pixelsOf(model, join(dir, entry.image));
      expect(maxAbsDiff(pixels, tensor(entry.tensors.pixel_values))).toBeLessThanOrEqual(1e-4);
      const [out] = await maePatchErrors(model, pixels, 1, tensor(entry.tensors.noise));
      expect(Array.from(out.mask), entry.name).toEqual(Array.from(tensor(entry.tensors.mask)));
      expect(maxAbsDiff(out.patchErrors, tensor(entry.tensors.patch_errors)), entry.name).toBeLessThanOrEqual(1e-4);
      const masked = Array.from(out.patchErrors).filter((_, p) => out.mask[p] > 0.5);
      const error = masked.reduce((s, v) => s + v, 0) / masked.length;
      expect(Math.abs(error - entry.reconstruction_error!), entry.name).toBeLessThanOrEqual(1e-4);
    }
    await model.release();
  });
});
