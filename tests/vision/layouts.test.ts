/**
 * Model layouts and weight variants as users download them: transformers.js dtype variants
 * (fp16 converted at the boundary), open_clip / clip-as-service visual.onnx + textual.onnx, a
 * single graph described by vigil-model.json, and SigLIP (sigmoid scores, logit_bias, Unigram
 * tokenizer). Fixtures: tests/vision/fixtures/make_layout_fixtures.py, with PyTorch's outputs in
 * each folder's parity.json.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { VigilInputError } from '../../src/core/errors.js';
import { float16ToFloat32, float32ToFloat16 } from '../../src/vision/dtype.js';
import { imageEmbeddingTask } from '../../src/vision/embed.js';
import { classify, describeModel, embedTexts, loadModel, type ClipModel, type LoadModelOptions } from '../../src/vision/index.js';
import { collect, cosine, maxAbsDiff, tempDir } from './helpers.js';

const MODELS = fileURLToPath(new URL('./fixtures/models/', import.meta.url));
const scratch = tempDir('layouts');
afterAll(() => scratch.remove());

interface Parity {
  pixels: number[][];
  image_embeds?: number[][];
  texts?: string[];
  input_ids?: number[][];
  text_embeds?: number[][];
  logits_per_image?: number[][];
  logit_scale?: number;
  logit_bias?: number;
}

function parity(name: string): Parity {
  return JSON.parse(readFileSync(join(MODELS, name, 'parity.json'), 'utf8')) as Parity;
}

function unit(v: readonly number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** A fixture by name, or any folder by absolute path. */
async function clip(name: string, options: LoadModelOptions = {}): Promise<ClipModel> {
  const model = await loadModel(isAbsolute(name) ? name : join(MODELS, name), options);
  if (model.kind !== 'clip') throw new Error(`${name} is not CLIP`);
  return model;
}

/** The image tower run by vigil on PyTorch's own pixel tensor (parity without resize differences). */
async function imageEmbeds(model: ClipModel, p: Parity): Promise<Float32Array[]> {
  return imageEmbeddingTask(model, (raw) => raw as never).infer(Float32Array.from(p.pixels.flat()), p.pixels.length);
}

async function loadError(dir: string, options: LoadModelOptions = {}): Promise<string> {
  const error = await loadModel(dir, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VigilInputError);
  return (error as Error).message;
}

describe('float16 at the boundary', () => {
  it('round-trips every value float16 can hold and rounds others to the nearest (ties to even)', () => {
    const exact = Float32Array.from([0, -0, 1, -2.5, 65504, 2 ** -24, 2 ** -14, 0.099975586, Infinity, -Infinity]);
    expect(Array.from(float16ToFloat32(float32ToFloat16(exact)))).toEqual(Array.from(exact));
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(Array.from(float16ToFloat32(float32ToFloat16(Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 1e-9]))))).toEqual([
      1,
      1 + 2 ** -9,
      Infinity,
      0,
    ]);
    expect(Number.isNaN(float16ToFloat32(float32ToFloat16(Float32Array.from([NaN])))[0])).toBe(true);
  });
});

describe('transformers.js dtype variants', () => {
  it('loads the fp16 variant of each tower, converts at the boundary and agrees with fp32', async () => {
    const p = parity('clip-variants');
    const fp32 = await clip('clip-variants', { dtype: 'fp32' });
    const fp16 = await clip('clip-variants', { dtype: 'fp16' });
    try {
      expect(fp16.dtype).toBe('fp16');
      expect(fp16.graphs.map((g) => [g.file, g.dtype])).toEqual([
        ['onnx/vision_model_fp16.onnx', 'fp16'],
        ['onnx/text_model_fp16.onnx', 'fp16'],
      ]);
      expect(fp16.graphs[0].inputs[0].type).toBe('float16');
      expect(fp16.sha256).not.toBe(fp32.sha256);
      const [a, b] = [await imageEmbeds(fp32, p), await imageEmbeds(fp16, p)];
      for (let i = 0; i < a.length; i++) expect(cosine(a[i], b[i])).toBeGreaterThan(0.999);
      expect(maxAbsDiff(a[0], b[0])).toBeGreaterThan(0); // really a different graph
      const [t32, t16] = [await embedTexts(fp32, ['a photo of red']), await embedTexts(fp16, ['a photo of red'])];
      expect(cosine(t32[0], t16[0])).toBeGreaterThan(0.999);
      const info = describeModel(fp16);
      expect(info.dtype).toBe('fp16');
      expect(info.variants).toEqual({ 'onnx/vision_model': ['fp32', 'fp16'], 'onnx/text_model': ['fp32', 'fp16'] });
    } finally {
      await fp32.release();
      await fp16.release();
    }
  });

  it('names the missing file and the variants present when the asked dtype is absent', async () => {
    const message = await loadError(join(MODELS, 'clip-variants'), { dtype: 'q8' });
    expect(message).toContain('no q8 variant of onnx/vision_model (expected onnx/vision_model_quantized.onnx; present: fp32 (onnx/vision_model.onnx), fp16 (onnx/vision_model_fp16.onnx))');
    await expect(loadModel(join(MODELS, 'clip-variants'), { dtype: 'fp8' as never })).rejects.toThrow(/one of fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4, auto for dtype/);
  });

  it('auto keeps fp32 while no faster variant is verified, and takes a verified one only for that exact file', async () => {
    const dir = join(scratch.path, 'auto');
    cpSync(join(MODELS, 'clip-variants'), dir, { recursive: true });
    // Pretend q8 files exist (copies of fp32) — unverified, auto must not take them.
    for (const base of ['vision_model', 'text_model']) cpSync(join(dir, `onnx/${base}.onnx`), join(dir, `onnx/${base}_quantized.onnx`));
    const unverified = await clip(dir, { dtype: 'auto' });
    expect(unverified.graphs.map((g) => g.dtype)).toEqual(['fp32', 'fp32']);
    await unverified.release();

    const { sha256File } = await import('../../src/core/files.js');
    const entry = async (base: string, passed: boolean) => ({
      file: `onnx/${base}_quantized.onnx`,
      sha256: await sha256File(join(dir, `onnx/${base}_quantized.onnx`)),
      reference: `onnx/${base}.onnx`,
      referenceSha256: await sha256File(join(dir, `onnx/${base}.onnx`)),
      dtype: 'q8',
      images: 50,
      cosineMean: 1,
      cosineMin: 1,
      top1Agreement: 1,
      passed,
      comparedAt: new Date().toISOString(),
    });
    const record = { schema: 'vigil/compare-record', entries: [await entry('vision_model', true), await entry('text_model', false)] };
    writeFileSync(join(dir, 'vigil-compare.json'), JSON.stringify(record));
    const verified = await clip(dir, { dtype: 'auto' });
    expect(verified.graphs.map((g) => g.dtype)).toEqual(['q8', 'fp32']);
    await verified.release();

    // The record binds to the bytes: a changed variant file is no longer trusted.
    writeFileSync(join(dir, 'onnx/vision_model_quantized.onnx'), readFileSync(join(dir, 'onnx/vision_model_fp16.onnx')));
    const changed = await clip(dir, { dtype: 'auto' });
    expect(changed.graphs[0].dtype).toBe('fp32');
    await changed.release();

    writeFileSync(join(dir, 'vigil-compare.json'), '{"schema":"vigil/compare-record","entries":[{"file":1}]}');
    expect(await loadError(dir, { dtype: 'auto' })).toMatch(/vigil-compare\.json: field entries\.0\.file/);
  });
});

describe('open_clip / clip-as-service layout (visual.onnx + textual.onnx)', () => {
  it('matches PyTorch with 77 int32 tokens and OpenAI CLIP preprocessing assumed', async () => {
    const p = parity('open-clip');
    const model = await clip('open-clip');
    try {
      expect(model.layout).toBe('open_clip');
      expect(model.io).toEqual({ pixels: 'input', imageEmbeds: 'output', inputIds: 'input', attentionMask: null, textEmbeds: 'output' });
      expect(model.graphs[1].inputs[0].type).toBe('int32');
      expect(model.preprocessing.imageMean).toEqual([0.48145466, 0.4578275, 0.40821073]);
      expect(model.preprocessing.kernel).toBe('cubic');
      const images = await imageEmbeds(model, p);
      images.forEach((e, i) => expect(maxAbsDiff(e, unit(p.image_embeds![i]))).toBeLessThan(1e-5));
      // The text graph's positions weigh every one of the 77 tokens, so this also checks the padding.
      const texts = await embedTexts(model, p.texts!);
      texts.forEach((e, i) => expect(maxAbsDiff(e, unit(p.text_embeds![i]))).toBeLessThan(1e-5));
      expect(describeModel(model).files.map((f) => f.path).sort()).toEqual(['textual.onnx', 'tokenizer.json', 'visual.onnx']);
    } finally {
      await model.release();
    }
  });

  it('asks for tokenizer.json when textual.onnx has none', async () => {
    const dir = join(scratch.path, 'open-clip-no-tokenizer');
    cpSync(join(MODELS, 'open-clip'), dir, { recursive: true });
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'tokenizer.json'));
    expect(await loadError(dir)).toMatch(/missing tokenizer\.json \(open_clip's textual\.onnx needs CLIP's BPE tokenizer/);
  });
});

describe('single graph with a vigil-model.json manifest', () => {
  it('runs the named inputs and outputs and matches PyTorch', async () => {
    const p = parity('manifest');
    const model = await clip('manifest');
    try {
      expect(model.layout).toBe('manifest');
      expect(model.combined).toBe(true);
      expect(model.logitScale).toBeCloseTo(50, 6);
      const images = await imageEmbeds(model, p);
      images.forEach((e, i) => expect(maxAbsDiff(e, unit(p.image_embeds![i]))).toBeLessThan(1e-5));
      const texts = await embedTexts(model, p.texts!);
      texts.forEach((e, i) => expect(maxAbsDiff(e, unit(p.text_embeds![i]))).toBeLessThan(1e-5));
    } finally {
      await model.release();
    }
  });

  it('rejects a manifest that points outside the folder, misses a field or names a wrong output', async () => {
    const broken = (name: string, edit: (m: Record<string, unknown>) => void): string => {
      const dir = join(scratch.path, `manifest-${name}`);
      cpSync(join(MODELS, 'manifest'), dir, { recursive: true });
      const manifest = JSON.parse(readFileSync(join(dir, 'vigil-model.json'), 'utf8')) as Record<string, unknown>;
      edit(manifest);
      writeFileSync(join(dir, 'vigil-model.json'), JSON.stringify(manifest));
      return dir;
    };
    expect(await loadError(broken('escape', (m) => (m.graph = '../manifest/clip.onnx')))).toMatch(
      /vigil-model\.json: field graph must be a path inside the model folder but is "\.\.\/manifest\/clip\.onnx"/,
    );
    expect(await loadError(broken('missing', (m) => delete m.inputs))).toMatch(/vigil-model\.json: field inputs:/);
    expect(await loadError(broken('output', (m) => ((m.outputs as Record<string, string>).imageEmbeds = 'nope')))).toMatch(
      /expected clip\.onnx to have an output named "nope" but its outputs are "image_features", "text_features"/,
    );
  });
});

describe('SigLIP', () => {
  it('reads logit_scale and logit_bias from the combined graph and scores labels with a sigmoid', async () => {
    const p = parity('siglip');
    const model = await clip('siglip');
    try {
      expect(model.scoring).toBe('sigmoid');
      expect(model.io.imageEmbeds).toBe('pooler_output');
      expect(model.io.attentionMask).toBeNull();
      expect(model.logitScale).toBeCloseTo(p.logit_scale!, 4);
      expect(model.logitBias).toBeCloseTo(p.logit_bias!, 4);
      // The combined graph the scale and bias came from is part of the model's identity.
      expect(model.files.map((f) => f.path)).toContain('onnx/model.onnx');
      const images = await imageEmbeds(model, p);
      // The Unigram tokenizer, </s> appended and fixed padding to 16 with </s>, fed as PyTorch was.
      const texts = await embedTexts(model, p.texts!);
      for (let i = 0; i < images.length; i++) {
        for (let t = 0; t < texts.length; t++) {
          let dot = 0;
          for (let k = 0; k < texts[t].length; k++) dot += images[i][k] * texts[t][k];
          expect(model.logitScale * dot + model.logitBias).toBeCloseTo(p.logits_per_image![i][t], 4);
        }
      }
      const png = await sharp({ create: { width: 40, height: 36, channels: 3, background: '#c03020' } }).png().toBuffer();
      const [obs] = await collect(classify(model, [{ name: 'red.png', bytes: png }], { labels: ['red square', 'green circle'], cacheDir: false }));
      if (obs.error !== undefined) throw new Error(obs.error);
      obs.probabilities.forEach((prob, i) => expect(prob).toBeCloseTo(1 / (1 + Math.exp(-obs.logits[i])), 12));
      expect(obs.probabilities.reduce((a, b) => a + b, 0)).not.toBeCloseTo(1, 3);
    } finally {
      await model.release();
    }
  });

  it('without a combined graph or config values, says where the scale and bias must come from', async () => {
    const dir = join(scratch.path, 'siglip-split');
    cpSync(join(MODELS, 'siglip'), dir, { recursive: true });
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'onnx/model.onnx'));
    expect(await loadError(dir)).toMatch(/SigLIP needs its logit_scale \(log\) and logit_bias: add both to config\.json/);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, logit_scale: Math.log(10), logit_bias: -10 }));
    const model = await clip(dir);
    expect(model.logitScale).toBeCloseTo(10, 12);
    expect(model.logitBias).toBe(-10);
    await model.release();
  });
});
