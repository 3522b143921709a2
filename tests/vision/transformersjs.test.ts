/**
 * Agreement with transformers.js (@huggingface/transformers, the JavaScript library users would
 * otherwise pick) on the same model folders, local files only (env.allowRemoteModels = false: it
 * must not download anything). At the input size no resize happens, so both see the same pixels
 * and the embeddings must agree to cosine ≥ 0.9999 and every top-1 label must match. On resized
 * images the two differ by their resize kernels (vigil: sharp's, matched to PIL's as transformers
 * uses; transformers.js: its own), which is measured and reported, not asserted equal.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { classify, embedImages, loadModel } from '../../src/vision/index.js';
import { collect, cosine, heldoutImages, REPO_ROOT } from './helpers.js';

const CLIP_DIR = join(REPO_ROOT, 'fixtures/models/clip');
const VIT_DIR = join(REPO_ROOT, 'fixtures/models/vit');
const IMAGES = heldoutImages(24);
const LABELS = ['circle', 'square', 'triangle', 'star'];

type Tjs = typeof import('@huggingface/transformers');
let tjs: Tjs;

beforeAll(async () => {
  tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = '/';
});

async function tjsImageEmbeddings(dir: string, files: string[]): Promise<Float32Array[]> {
  const processor = await tjs.AutoProcessor.from_pretrained(dir);
  const model = await tjs.CLIPVisionModelWithProjection.from_pretrained(dir, { dtype: 'fp32' });
  const out: Float32Array[] = [];
  for (const file of files) {
    const inputs = await processor(await tjs.RawImage.read(file));
    const { image_embeds } = (await model(inputs)) as { image_embeds: { data: Float32Array } };
    out.push(Float32Array.from(image_embeds.data));
  }
  await model.dispose();
  return out;
}

describe('agreement with transformers.js', () => {
  it('CLIP image embeddings at the input size: cosine ≥ 0.9999 on every image', async () => {
    const model = await loadModel(CLIP_DIR);
    if (model.kind !== 'clip') throw new Error('expected clip');
    const ours = (await collect(embedImages(model, IMAGES, { cacheDir: false }))).map((o) => {
      if (o.error !== undefined) throw new Error(o.error);
      return o.embedding;
    });
    await model.release();
    const theirs = await tjsImageEmbeddings(CLIP_DIR, IMAGES);
    const cosines = ours.map((e, i) => cosine(e, theirs[i]));
    expect(Math.min(...cosines)).toBeGreaterThanOrEqual(0.9999);
  });

  it('CLIP zero-shot top-1 is identical on every image', async () => {
    const model = await loadModel(CLIP_DIR);
    if (model.kind !== 'clip') throw new Error('expected clip');
    const ours = (await collect(classify(model, IMAGES, { labels: LABELS, templates: ['a photo of a {label}'], top: 1, cacheDir: false }))).map((o) => {
      if (o.error !== undefined) throw new Error(o.error);
      return o.top[0].label;
    });
    await model.release();
    const pipe = await tjs.pipeline('zero-shot-image-classification', CLIP_DIR, { dtype: 'fp32' });
    const theirs: string[] = [];
    for (const file of IMAGES) {
      const result = (await pipe(file, LABELS, { hypothesis_template: 'a photo of a {}' })) as { label: string; score: number }[];
      theirs.push(result[0].label);
    }
    await pipe.dispose();
    expect(ours).toEqual(theirs);
  });

  it('ViT top-1 is identical on every image', async () => {
    const model = await loadModel(VIT_DIR);
    if (model.kind !== 'vit') throw new Error('expected vit');
    const ours = (await collect(classify(model, IMAGES, { top: 1, cacheDir: false }))).map((o) => {
      if (o.error !== undefined) throw new Error(o.error);
      return o.top[0].label;
    });
    await model.release();
    const pipe = await tjs.pipeline('image-classification', VIT_DIR, { dtype: 'fp32' });
    const theirs: string[] = [];
    for (const file of IMAGES) theirs.push(((await pipe(file, { top_k: 1 })) as { label: string }[])[0].label);
    await pipe.dispose();
    expect(ours).toEqual(theirs);
  });

  it('on resized images the embeddings still agree closely; the gap is the resize kernel', async () => {
    // 64×64 images upscaled to 97×83: both resize (bicubic), then centre-crop 64.
    const dir = join(REPO_ROOT, 'tests/output/tjs-resized');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    for (const file of IMAGES.slice(0, 8)) {
      const out = join(dir, file.split('/').pop()!);
      await sharp(file).resize(97, 83, { kernel: 'lanczos3', fit: 'fill' }).png().toFile(out);
      files.push(out);
    }
    const model = await loadModel(CLIP_DIR);
    if (model.kind !== 'clip') throw new Error('expected clip');
    const ours = (await collect(embedImages(model, files, { cacheDir: false }))).map((o) => (o.error === undefined ? o.embedding : new Float32Array()));
    await model.release();
    const theirs = await tjsImageEmbeddings(CLIP_DIR, files);
    const cosines = ours.map((e, i) => cosine(e, theirs[i]));
    // Not 0.9999: transformers.js resizes with its own bicubic, vigil with sharp's (see docs/vision.md).
    expect(Math.min(...cosines)).toBeGreaterThan(0.99);
  });
});
