import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify, embedImages, embedTexts, listImageFiles, loadModel } from '../../src/vision/index.js';
import type { ClipModel, VitModel } from '../../src/vision/index.js';
import { collect, maxAbsDiff, tempDir, TINY } from './helpers.js';
import { CACHE_DB_FILE, cacheStore } from '../../src/vision/cache-store.js';

const scratch = tempDir('pipeline');
const images = join(scratch.path, 'images');
let vit: VitModel;
let clip: ClipModel;

/** Distinct images: each a different colour and size, so every output differs. */
const names = ['a.png', 'b.jpg', 'sub/c.png', 'sub/deeper/d.webp', 'e.png', 'f.png', 'g.png'];

beforeAll(async () => {
  mkdirSync(join(images, 'sub/deeper'), { recursive: true });
  await Promise.all(
    names.map((name, i) =>
      sharp({ create: { width: 40 + i * 3, height: 32 + i, channels: 3, background: { r: 30 * i, g: 255 - 30 * i, b: (90 * i) % 255 } } })
        .toFormat(name.endsWith('.jpg') ? 'jpeg' : name.endsWith('.webp') ? 'webp' : 'png')
        .toFile(join(images, name)),
    ),
  );
  writeFileSync(join(images, 'notes.txt'), 'not an image');
  writeFileSync(join(images, 'broken.png'), 'not a png either');
  const v = await loadModel(TINY.vit);
  const c = await loadModel(TINY.clip);
  if (v.kind !== 'vit' || c.kind !== 'clip') throw new Error('fixture kinds');
  vit = v;
  clip = c;
});

afterAll(async () => {
  await Promise.all([vit?.release(), clip?.release()]);
  scratch.remove();
});

describe('listImageFiles', () => {
  it('expands files, folders (recursively, images only, sorted) and globs, dropping duplicates', async () => {
    const { files, unmatched } = await listImageFiles([
      join(images, 'e.png'),
      images,
      join(images, 'sub/**/*.webp'),
      join(images, 'missing.png'),
      join(images, '*.gif'),
    ]);
    expect(files[0]).toBe(join(images, 'e.png'));
    expect(files.slice(1)).toEqual(
      ['a.png', 'b.jpg', 'broken.png', 'f.png', 'g.png', 'sub/c.png', 'sub/deeper/d.webp'].map((n) => join(images, n)),
    );
    expect(unmatched).toEqual([join(images, 'missing.png'), join(images, '*.gif')]);
  });
});

describe('runImages via classify / embedImages', () => {
  it('streams one observation per input in input order, recording failures and going on', async () => {
    const inputs = [
      join(images, 'a.png'),
      join(images, 'broken.png'),
      join(images, 'sub'),
      { name: 'in-memory.png', bytes: await sharp(join(images, 'a.png')).png().toBuffer() },
      join(images, 'nothing-*.png'),
      join(images, 'g.png'),
    ];
    const seen: number[] = [];
    let count = 0;
    const results = await collect(classify(vit, inputs, { batchSize: 2, cacheDir: false, onImage: () => seen.push(++count) }));
    expect(results.map((r) => r.file)).toEqual([
      join(images, 'a.png'),
      join(images, 'broken.png'),
      join(images, 'sub/c.png'),
      join(images, 'sub/deeper/d.webp'),
      'in-memory.png',
      join(images, 'nothing-*.png'),
      join(images, 'g.png'),
    ]);
    expect(seen).toHaveLength(7);
    const broken = results[1];
    expect(broken.error).toMatch(/broken.png: cannot decode image/);
    expect(broken.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(results[5].error).toMatch(/no such file, or no image files/);
    expect(results[5].sha256).toBeNull();
    // The same pixels from a path and from memory give the same logits.
    const [a, memory] = [results[0], results[4]];
    if (a.error !== undefined || memory.error !== undefined) throw new Error('expected success');
    expect(maxAbsDiff(a.logits, memory.logits)).toBeLessThan(1e-6);
    expect(a.probabilities.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 10);
    expect(a.provider).toBe('cpu');
  });

  it('reads ahead at most prefetch + batch size images (memory does not grow with the input)', async () => {
    const bytes = await sharp(join(images, 'a.png')).png().toBuffer();
    let pulled = 0;
    async function* endless() {
      for (let i = 0; i < 200; i++) {
        pulled += 1;
        yield { name: `img-${i}.png`, bytes };
      }
    }
    let consumed = 0;
    let maxAhead = 0;
    for await (const obs of classify(vit, endless(), { batchSize: 4, prefetch: 6, cacheDir: false })) {
      expect(obs.error).toBeUndefined();
      consumed += 1;
      maxAhead = Math.max(maxAhead, pulled - consumed);
    }
    expect(consumed).toBe(200);
    expect(maxAhead).toBeLessThanOrEqual(4 + 6 + 1);
  });

  it('gives the same outputs whatever the batch size and prefetch', async () => {
    const files = names.map((n) => join(images, n));
    const one = await collect(classify(vit, files, { batchSize: 1, prefetch: 1, cacheDir: false }));
    const many = await collect(classify(vit, files, { batchSize: 5, prefetch: 3, cacheDir: false }));
    expect(many.map((r) => r.file)).toEqual(files);
    one.forEach((r, i) => {
      const m = many[i];
      if (r.error !== undefined || m.error !== undefined) throw new Error('expected success');
      expect(maxAbsDiff(r.logits, m.logits)).toBeLessThan(1e-5);
    });
  });

  it('serves a second run from the cache without inference, with identical results', async () => {
    const cacheDir = join(scratch.path, 'cache');
    const files = names.map((n) => join(images, n));
    const before = { ...clip.stats };
    const first = await collect(embedImages(clip, files, { batchSize: 3, cacheDir }));
    expect(clip.stats.imagesInferred - before.imagesInferred).toBe(files.length);
    expect(first.every((r) => r.error === undefined && !r.cached)).toBe(true);

    const mid = { ...clip.stats };
    const second = await collect(embedImages(clip, files, { batchSize: 3, cacheDir }));
    expect(clip.stats.imagesInferred).toBe(mid.imagesInferred);
    expect(clip.stats.batchesRun).toBe(mid.batchesRun);
    expect(clip.stats.cacheHits - mid.cacheHits).toBe(files.length);
    second.forEach((r, i) => {
      const f = first[i];
      if (r.error !== undefined || f.error !== undefined) throw new Error('expected success');
      expect(r.cached).toBe(true);
      expect(r.provider).toBe('cpu');
      expect(Array.from(r.embedding)).toEqual(Array.from(f.embedding));
    });

    // Zero-shot classification uses the same cached image embeddings: still no inference.
    const classified = await collect(classify(clip, files, { labels: ['red', 'green'], cacheDir }));
    expect(classified.every((r) => r.error === undefined && r.cached)).toBe(true);
    expect(clip.stats.imagesInferred).toBe(mid.imagesInferred);

    // A mix of cached and new images only infers the new one, and keeps input order.
    const extra = join(scratch.path, 'extra.png');
    await sharp({ create: { width: 33, height: 33, channels: 3, background: '#123456' } }).png().toFile(extra);
    const mixed = await collect(embedImages(clip, [files[0], extra, files[1]], { cacheDir }));
    expect(mixed.map((r) => r.file)).toEqual([files[0], extra, files[1]]);
    expect(mixed.map((r) => r.error === undefined && r.cached)).toEqual([true, false, true]);
    expect(clip.stats.imagesInferred).toBe(mid.imagesInferred + 1);
  });

  it('keys the cache by image content, not by path', async () => {
    const cacheDir = join(scratch.path, 'cache-content');
    const original = join(images, 'a.png');
    await collect(classify(vit, [original], { cacheDir }));
    const exact = join(scratch.path, 'exact-copy.png');
    copyFileSync(original, exact);
    const [hit] = await collect(classify(vit, [exact], { cacheDir }));
    expect(hit.error === undefined && hit.cached).toBe(true);
    // Same pixels, different bytes (another PNG compression level): a different image.
    const recoded = join(scratch.path, 'recoded.png');
    await sharp(original).png({ compressionLevel: 1 }).toFile(recoded);
    const [miss] = await collect(classify(vit, [recoded], { cacheDir }));
    expect(miss.error === undefined && miss.cached).toBe(false);
    // One SQLite store per cache folder: two entries (the original's bytes and the recoded ones).
    expect(readdirSync(cacheDir).filter((name) => !name.includes('-'))).toEqual([CACHE_DB_FILE]);
    expect(cacheStore(cacheDir).stats(0).entries).toBe(2);
  });

  it('treats a damaged cache entry as a miss and rewrites it', async () => {
    const cacheDir = join(scratch.path, 'cache-damaged');
    const file = join(images, 'f.png');
    const [first] = await collect(classify(vit, [file], { cacheDir }));
    const store = cacheStore(cacheDir);
    expect(store.stats(0).entries).toBe(1);
    store.database.prepare('UPDATE entries SET body = substr(body, 1, 2)').run();
    const inferred = vit.stats.imagesInferred;
    const [second] = await collect(classify(vit, [file], { cacheDir }));
    expect(second.error === undefined && second.cached).toBe(false);
    expect(vit.stats.imagesInferred).toBe(inferred + 1);
    if (first.error !== undefined || second.error !== undefined) throw new Error('expected success');
    expect(second.logits).toEqual(first.logits);
    const [third] = await collect(classify(vit, [file], { cacheDir }));
    expect(third.error === undefined && third.cached).toBe(true);
  });

  it('validates run options sharp-style', async () => {
    await expect(collect(classify(vit, [], { batchSize: 0 }))).rejects.toThrow('Expected a positive integer for batchSize but received 0');
    await expect(collect(classify(vit, [], { prefetch: 1.5 }))).rejects.toThrow('Expected a positive integer for prefetch but received 1.5');
    await expect(collect(classify(vit, [], { top: 0 }))).rejects.toThrow('Expected a positive integer for top but received 0');
  });
});

describe('classify', () => {
  it('restricts a ViT to a label subset with probabilities renormalised over it', async () => {
    const file = join(images, 'a.png');
    const [all] = await collect(classify(vit, [file], { cacheDir: false }));
    const [subset] = await collect(classify(vit, [file], { labels: ['blue', 'red'], top: 1, cacheDir: false }));
    if (all.error !== undefined || subset.error !== undefined) throw new Error('expected success');
    expect(subset.logits).toEqual([all.logits[2], all.logits[0]]);
    expect(subset.probabilities[0] + subset.probabilities[1]).toBeCloseTo(1, 10);
    expect(subset.top).toHaveLength(1);
    expect(subset.top[0].label).toBe(subset.probabilities[0] > subset.probabilities[1] ? 'blue' : 'red');
    await expect(collect(classify(vit, [file], { labels: ['purple'] }))).rejects.toThrow(
      'Expected labels of the model (red, green, blue) for labels but received "purple"',
    );
    await expect(collect(classify(vit, [file], { templates: ['a {label}'] }))).rejects.toThrow(/templates/);
  });

  it('CLIP zero-shot: logits are logit scale × cosine with the prompt-ensembled label embedding', async () => {
    const file = join(images, 'a.png');
    const [image] = await collect(embedImages(clip, [file], { cacheDir: false }));
    const templates = ['a photo of {label}', 'the {label} square'];
    const [r1, r2, g1, g2] = await embedTexts(clip, ['a photo of red', 'the red square', 'a photo of green', 'the green square']);
    const [result] = await collect(classify(clip, [file], { labels: ['red', 'green'], templates, cacheDir: false }));
    if (image.error !== undefined || result.error !== undefined) throw new Error('expected success');
    const expected = [
      [r1, r2],
      [g1, g2],
    ].map(([a, b]) => {
      const mean = a.map((v, k) => (v + b[k]) / 2);
      const norm = Math.hypot(...mean);
      return clip.logitScale * mean.reduce((s, v, k) => s + (v / norm) * image.embedding[k], 0);
    });
    expect(maxAbsDiff(result.logits, expected)).toBeLessThan(1e-4);
    await expect(collect(classify(clip, [file], {}))).rejects.toThrow(/candidate labels for CLIP zero-shot classification for labels/);
    await expect(collect(classify(clip, [file], { labels: ['a'], templates: ['no placeholder'] }))).rejects.toThrow(/containing \{label\}/);
    await expect(collect(classify(clip, [file], { labels: ['a', 'a'] }))).rejects.toThrow(/distinct labels/);
  });
});
