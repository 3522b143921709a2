/**
 * The real configuration, tokenizer and preprocessing files of openai/clip-vit-base-patch32 and
 * openai/clip-vit-large-patch14 (../shared/real-models, no weights): tokenization and
 * preprocessing exactly as the originals (these need no weights, so they run in CI), and — when
 * tools/build_real_models.py has built them (bench/models/real, not committed: ~1.2 GB for B/32,
 * ~1.7 GB for L/14 towers) — full-size random-weight models in those architectures, checked
 * against PyTorch.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { embedTexts, loadModel, preprocessImage, type ClipModel } from '../../src/vision/index.js';
import { imageEmbeddingTask } from '../../src/vision/embed.js';
import { tokenizerOf } from '../../src/vision/model.js';
import { parsePreprocessorConfig } from '../../src/vision/preprocessing.js';
import { TextTokenizer } from '../../src/vision/text.js';
import { cosine, maxAbsDiff, REPO_ROOT } from './helpers.js';

const SHARED = join(REPO_ROOT, '../shared/real-models');
const B32 = join(SHARED, 'clip-vit-base-patch32');
const L14 = join(SHARED, 'clip-vit-large-patch14');
const haveShared = existsSync(join(B32, 'tokenizer.json')) && existsSync(join(L14, 'tokenizer.json'));
const SHARED_SKIP = `../shared/real-models is absent (the real CLIP config/tokenizer files)`;

const BOS = 49406;
const EOS = 49407;

function tokenizer(dir: string): TextTokenizer {
  return new TextTokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), join(dir, 'tokenizer.json'), {
    contextLength: 77,
    fixedLength: null,
  });
}

describe.skipIf(!haveShared)(`real CLIP tokenizers (${SHARED_SKIP} skips these)`, () => {
  it('"a photo of a cat" gives the original CLIP ids with both tokenizer.json formats', () => {
    // B/32's tokenizer.json stores merges as pairs, L/14's as "a b" strings (the older format).
    const merges = (dir: string) => (JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { model: { merges: unknown[] } }).model.merges[0];
    expect(Array.isArray(merges(B32))).toBe(true);
    expect(typeof merges(L14)).toBe('string');
    for (const dir of [B32, L14]) expect(tokenizer(dir).encode('a photo of a cat')).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
  });

  it('the two formats tokenize alike: case, punctuation, digits, contractions, accents, emoji', () => {
    const texts = [
      'A Photo of a CAT!!',
      "it's a dog's toy, isn't it?",
      'room 101 at 9:30pm',
      'café crème brûlée',
      'a photo of a 🐱 and a 🐶',
      '  lots   of\tspaces\nand lines ',
    ];
    const [b, l] = [tokenizer(B32), tokenizer(L14)];
    for (const text of texts) expect(b.encode(text)).toEqual(l.encode(text));
    expect(b.encode('A Photo of a CAT!!')).toEqual([49406, 320, 1125, 539, 320, 2368, 748, 49407]);
  });

  it('truncates at 77 tokens keeping the start and end tokens', () => {
    for (const dir of [B32, L14]) {
      const ids = tokenizer(dir).encode('word '.repeat(200));
      expect(ids).toHaveLength(77);
      expect(ids[0]).toBe(BOS);
      expect(ids[76]).toBe(EOS);
      expect(new Set(ids.slice(1, 76)).size).toBe(1);
    }
  });

  it('pads a batch with <|endoftext|> and a zero attention mask, and to 77 when the graph fixes it', () => {
    const batch = tokenizer(B32).encodeBatch(['a cat', 'a photo of a cat']);
    expect(batch.length).toBe(7);
    expect(batch.inputIds.slice(0, 7)).toEqual([BOS, 320, 2368, EOS, EOS, EOS, EOS]);
    expect(batch.attentionMask.slice(0, 7)).toEqual([1, 1, 1, 1, 0, 0, 0]);
    const fixed = new TextTokenizer(JSON.parse(readFileSync(join(B32, 'tokenizer.json'), 'utf8')), 't', { contextLength: 77, fixedLength: 77 });
    expect(fixed.encodeBatch(['a cat']).length).toBe(77);
  });
});

describe.skipIf(!haveShared)(`real CLIP preprocessor configs (${SHARED_SKIP} skips these)`, () => {
  const parse = (dir: string) => parsePreprocessorConfig(JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8')), dir, false);

  it('reads the current (B/32: size.shortest_edge, crop_size.{height,width}) and legacy (L/14: "size": 224, "crop_size": 224) formats alike', () => {
    const [current, legacy] = [parse(B32), parse(L14)];
    expect(legacy).toEqual(current);
    expect(current).toMatchObject({
      resize: { shortestEdge: 224 },
      cropSize: { height: 224, width: 224 },
      resample: 3,
      kernel: 'cubic',
      inputSize: { height: 224, width: 224 },
      imageMean: [0.48145466, 0.4578275, 0.40821073],
      imageStd: [0.26862954, 0.26130258, 0.27577711],
    });
  });

  it('preprocesses an image to the same tensor with either file', async () => {
    const png = await sharp({ create: { width: 300, height: 260, channels: 3, background: '#3080c0', noise: { type: 'gaussian', mean: 120, sigma: 30 } } })
      .png()
      .toBuffer();
    const [a, b] = await Promise.all([preprocessImage(png, parse(B32)), preprocessImage(png, parse(L14))]);
    expect(a.data.length).toBe(3 * 224 * 224);
    expect(maxAbsDiff(a.data, b.data)).toBe(0);
  });
});

interface ParityIndex {
  pixel_values: { file: string; shape: number[] };
  image_embeds: { file: string; shape: number[] };
  text_embeds: { file: string; shape: number[] };
  texts: string[];
  input_ids: number[][];
}

function readBin(dir: string, file: string): Float32Array {
  const bytes = readFileSync(join(dir, 'parity', file));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function rows(data: Float32Array, shape: number[]): Float32Array[] {
  return Array.from({ length: shape[0] }, (_, i) => data.slice(i * shape[1], (i + 1) * shape[1]));
}

function fullSizeSuite(name: string, built: string) {
  const have = existsSync(join(built, 'parity/index.json'));
  const reason = `${built} is absent (build it: /usr/bin/python3 tools/build_real_models.py --models ${name === 'ViT-B/32' ? 'b32' : 'l14'})`;
  describe.skipIf(!have)(`full-size ${name} with random weights (${reason} skips these)`, () => {
    const parity = () => JSON.parse(readFileSync(join(built, 'parity/index.json'), 'utf8')) as ParityIndex;

    async function towers(dtype: 'fp32' | 'q8' = 'fp32'): Promise<ClipModel> {
      const model = await loadModel(built, { dtype });
      if (model.kind !== 'clip') throw new Error('expected clip');
      return model;
    }

    it('loads with the real config, tokenizer and preprocessing and matches PyTorch (image and text towers)', async () => {
      const p = parity();
      const model = await towers();
      try {
        expect(model.combined).toBe(false);
        expect(model.contextLength).toBe(77);
        const pixels = readBin(built, p.pixel_values.file);
        const count = p.pixel_values.shape[0];
        const ours = await imageEmbeddingTask(model, (raw) => raw as never).infer(pixels, count);
        const reference = rows(readBin(built, p.image_embeds.file), p.image_embeds.shape);
        ours.forEach((e, i) => expect(cosine(e, reference[i])).toBeGreaterThan(0.99999));
        // vigil's tokenizer gives the ids PyTorch was fed (the original CLIP ids).
        for (const [i, text] of p.texts.entries()) expect(tokenizerOf(model).encode(text)).toEqual(p.input_ids[i]);
        const texts = await embedTexts(model, p.texts);
        const textReference = rows(readBin(built, p.text_embeds.file), p.text_embeds.shape);
        texts.forEach((e, i) => expect(cosine(e, textReference[i])).toBeGreaterThan(0.99999));
      } finally {
        await model.release();
      }
    }, 120_000);

    it.skipIf(!existsSync(join(built, 'onnx/model.onnx')))('the combined model.onnx gives the split towers\' embeddings', async () => {
      const p = parity();
      const { cpSync, mkdtempSync, rmSync, symlinkSync, mkdirSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      // The combined graph alone: a folder with model.onnx but no split towers.
      const dir = mkdtempSync(join(tmpdir(), 'vigil-combined-'));
      try {
        for (const f of ['config.json', 'preprocessor_config.json', 'tokenizer.json']) cpSync(join(built, f), join(dir, f));
        mkdirSync(join(dir, 'onnx'));
        symlinkSync(join(built, 'onnx/model.onnx'), join(dir, 'onnx/model.onnx'));
        const model = await loadModel(dir);
        if (model.kind !== 'clip') throw new Error('expected clip');
        expect(model.combined).toBe(true);
        const reference = rows(readBin(built, p.image_embeds.file), p.image_embeds.shape);
        const ours = await imageEmbeddingTask(model, (raw) => raw as never).infer(readBin(built, p.pixel_values.file), p.pixel_values.shape[0]);
        ours.forEach((e, i) => expect(cosine(e, reference[i])).toBeGreaterThan(0.99999));
        const textReference = rows(readBin(built, p.text_embeds.file), p.text_embeds.shape);
        (await embedTexts(model, p.texts)).forEach((e, i) => expect(cosine(e, textReference[i])).toBeGreaterThan(0.99999));
        await model.release();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 180_000);

    it.skipIf(!existsSync(join(built, 'onnx/vision_model_quantized.onnx')))('the q8 variant (vigil models quantize) keeps image embeddings at cosine ≥ 0.99', async () => {
      const p = parity();
      const model = await towers('q8');
      try {
        expect(model.graphs.map((g) => g.dtype)).toEqual(['q8', 'q8']);
        const reference = rows(readBin(built, p.image_embeds.file), p.image_embeds.shape);
        const ours = await imageEmbeddingTask(model, (raw) => raw as never).infer(readBin(built, p.pixel_values.file), p.pixel_values.shape[0]);
        ours.forEach((e, i) => expect(cosine(e, reference[i])).toBeGreaterThan(0.99));
      } finally {
        await model.release();
      }
    }, 120_000);
  });
}

fullSizeSuite('ViT-B/32', join(REPO_ROOT, 'bench/models/real/clip-vit-base-patch32'));
fullSizeSuite('ViT-L/14', join(REPO_ROOT, 'bench/models/real/clip-vit-large-patch14'));
