/**
 * `vigil models quantize` (dynamic int8 MatMul/Gemm weights) and `vigil models compare` (variant
 * vs fp32 on the user's images; the verdict recorded for --dtype auto), on small models.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VigilInputError } from '../../src/core/errors.js';
import { classify, embedImages, loadModel } from '../../src/vision/index.js';
import { agreementBounds, CONTRACT } from '../../src/vision/compare.js';
import { quantizeColumns, quantizeOnnxFile } from '../../src/vision/quantize.js';
import { collect, cosine, heldoutImages, REPO_ROOT, runVigil, tempDir, TINY } from './helpers.js';

const scratch = tempDir('quantize');
afterAll(() => scratch.remove());
const IMAGES = heldoutImages(24);
/** Enough images for a 99% agreement to be shown at all (CONTRACT.minImages). */
const MANY = heldoutImages(320);

function vigil(...args: string[]) {
  return runVigil(scratch.path, ...args);
}

function copy(src: string, name: string): string {
  const dir = join(scratch.path, name);
  cpSync(src, dir, { recursive: true });
  return dir;
}

describe('quantizeColumns', () => {
  it('gives each column its own symmetric scale and rounds within half a step', () => {
    // 2 × 3 matrix: column 1 has a 100× larger range than column 0.
    const w = Float32Array.from([0.005, 1, 0, -0.02, -2, 0]);
    const { q, scales } = quantizeColumns(w, 2, 3, true);
    expect(Array.from(scales)).toEqual([Math.fround(0.02 / 127), Math.fround(2 / 127), 1]);
    expect(Array.from(q)).toEqual([32, 64, 0, -127, -127, 0]);
    for (let i = 0; i < w.length; i++) expect(Math.abs(q[i] * scales[i % 3] - w[i])).toBeLessThanOrEqual(scales[i % 3] / 2 + 1e-9);
    // Per tensor, the small column loses its resolution.
    const tensor = quantizeColumns(w, 2, 3, false);
    expect(Array.from(tensor.q.slice(0, 1))).toEqual([0]);
  });
});

describe('vigil models quantize', () => {
  it('writes *_quantized.onnx beside each tower; the q8 model keeps embeddings and zero-shot labels', async () => {
    const dir = copy(join(REPO_ROOT, 'fixtures/models/clip'), 'clip');
    const { code, stderr } = vigil('models', 'quantize', dir);
    expect(code).toBe(0);
    expect(stderr).toMatch(/wrote .*onnx\/vision_model_quantized\.onnx: \d+ MatMul\/Gemm weights int8/);
    for (const f of ['vision_model_quantized.onnx', 'text_model_quantized.onnx']) {
      const bytes = readFileSync(join(dir, 'onnx', f)).toString('latin1');
      expect(bytes).toContain('MatMulInteger');
      expect(bytes).toContain('DynamicQuantizeLinear');
    }
    const fp32 = await loadModel(dir, { dtype: 'fp32' });
    const q8 = await loadModel(dir, { dtype: 'q8' });
    if (fp32.kind !== 'clip' || q8.kind !== 'clip') throw new Error('expected clip');
    try {
      expect(q8.graphs.map((g) => g.file)).toEqual(['onnx/vision_model_quantized.onnx', 'onnx/text_model_quantized.onnx']);
      const a = await collect(embedImages(fp32, IMAGES.slice(0, 8), { cacheDir: false }));
      const b = await collect(embedImages(q8, IMAGES.slice(0, 8), { cacheDir: false }));
      a.forEach((o, i) => {
        const p = b[i];
        if (o.error !== undefined || p.error !== undefined) throw new Error('failed');
        expect(cosine(o.embedding, p.embedding)).toBeGreaterThan(0.99);
        expect(cosine(o.embedding, p.embedding)).toBeLessThan(1); // really int8
      });
    } finally {
      await fp32.release();
      await q8.release();
    }
  });

  it('quantizes a Gemm (transB) classifier head and keeps its top-1', async () => {
    const dir = copy(TINY.vit, 'vit');
    const report = await quantizeOnnxFile(join(dir, 'onnx/model.onnx'), join(dir, 'onnx/model_quantized.onnx'));
    expect(report.quantized).toBe(1);
    expect(report.skipped).toEqual([]);
    const png = readFileSync(IMAGES[0]);
    const [a, b] = await Promise.all(
      (['fp32', 'q8'] as const).map(async (dtype) => {
        const model = await loadModel(dir, { dtype });
        if (model.kind !== 'vit') throw new Error('expected vit');
        const [obs] = await collect(classify(model, [{ name: 'x.png', bytes: png }], { cacheDir: false }));
        await model.release();
        if (obs.error !== undefined) throw new Error(obs.error);
        return obs;
      }),
    );
    expect(b.top[0].label).toBe(a.top[0].label);
    b.logits.forEach((l, i) => expect(l).toBeCloseTo(a.logits[i], 1));
  });

  it('refuses other dtypes and files that are not ONNX, naming them', async () => {
    const { code, stderr } = vigil('models', 'quantize', TINY.clip, '--dtype', 'q4');
    expect(code).toBe(2);
    expect(stderr).toMatch(/Expected q8 .* for --dtype but received "q4"/);
    const bogus = join(scratch.path, 'bogus.onnx');
    writeFileSync(bogus, 'not a protobuf at all');
    const error = await quantizeOnnxFile(bogus, join(scratch.path, 'out.onnx')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VigilInputError);
    expect((error as Error).message).toMatch(/bogus\.onnx: not an ONNX model/);
    expect(existsSync(join(scratch.path, 'out.onnx'))).toBe(false);
  });
});

describe('the compare contract judges top-1 agreement by its interval', () => {
  it('needs 299 images all agreeing to show 99% at one-sided 95%; fewer can only fail or be inconclusive', () => {
    expect(CONTRACT.minImages).toBe(299);
    expect(agreementBounds(299, 299)[0]).toBeGreaterThanOrEqual(0.99);
    expect(agreementBounds(298, 298)[0]).toBeLessThan(0.99);
    // 24 of 24 allows an agreement as low as 88%.
    expect(agreementBounds(24, 24)[0]).toBeCloseTo(0.05 ** (1 / 24), 6);
    // 90 of 100: the upper bound is below 99%, so the variant fails however few images there are.
    expect(agreementBounds(90, 100)[1]).toBeLessThan(0.99);
    // A few near-ties are allowed once there are enough images: 4 of 1000 disagreeing still shows 99%.
    expect(agreementBounds(996, 1000)[0]).toBeGreaterThanOrEqual(0.99);
    expect(agreementBounds(319, 320)[0]).toBeLessThan(0.99);
  });
});

describe('vigil models compare', () => {
  it('measures q8 against fp32, records the verdict, and --dtype auto then uses q8', () => {
    const dir = copy(join(REPO_ROOT, 'fixtures/models/clip'), 'clip-compare');
    expect(vigil('models', 'quantize', dir).code).toBe(0);
    const before = vigil('models', 'info', dir, '--dtype', 'auto', '--json');
    expect(JSON.parse(before.stdout).dtype).toBe('fp32');
    const { code, stdout, stderr } = vigil('models', 'compare', dir, '--dtype', 'q8', '--images', ...MANY, '--labels', 'circle,square,triangle,star', '--json');
    expect(stderr).toBe('');
    const result = JSON.parse(stdout);
    expect(result.schema).toBe('vigil/compare');
    expect(result.comparison.images).toBe(320);
    expect(result.comparison.cosine.mean).toBeGreaterThan(0.99);
    expect(result.comparison.top1Bounds[0]).toBeGreaterThanOrEqual(0.99);
    expect(result.comparison.verdict).toBe('passed');
    expect(code).toBe(0);
    const record = JSON.parse(readFileSync(join(dir, 'vigil-compare.json'), 'utf8'));
    expect(record.entries.map((e: { file: string; passed: boolean }) => [e.file, e.passed])).toEqual([
      ['onnx/vision_model_quantized.onnx', true],
      ['onnx/text_model_quantized.onnx', true],
    ]);
    const after = JSON.parse(vigil('models', 'info', dir, '--dtype', 'auto', '--json').stdout);
    expect(after.dtype).toBe('q8');
    expect(after.variants['onnx/vision_model']).toEqual(['fp32', 'q8']);
  });

  it('says "inconclusive" (exit 1) when the images agree but are too few to show 99%', () => {
    const dir = copy(join(REPO_ROOT, 'fixtures/models/clip'), 'clip-few');
    expect(vigil('models', 'quantize', dir).code).toBe(0);
    const { code, stdout } = vigil('models', 'compare', dir, '--dtype', 'q8', '--images', ...IMAGES, '--labels', 'circle,square,triangle,star', '--no-record');
    expect(code).toBe(1);
    expect(stdout).toMatch(/q8 vs fp32 on 24 images \(0 failed\): INCONCLUSIVE/);
    expect(stdout).toMatch(/top-1 agreement: 100\.00% \(one-sided 95% bounds \[88\.27%, 100\.00%\]\)/);
    expect(stdout).toMatch(/cannot show 99\.0%; at least 299 images, all agreeing, are needed to show 99\.0%/);
    expect(existsSync(join(dir, 'vigil-compare.json'))).toBe(false);
  });
});
