import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassifyResult } from '../../src/vision/result.js';
import { runVigil, tempDir, TINY } from './helpers.js';

const scratch = tempDir('cli');
const images = join(scratch.path, 'images');

function vigil(...args: string[]) {
  return runVigil(scratch.path, ...args);
}

beforeAll(async () => {
  mkdirSync(join(images, 'nested'), { recursive: true });
  for (const [i, name] of ['one.png', 'two.jpg', 'nested/three.png'].entries()) {
    await sharp({ create: { width: 48, height: 40, channels: 3, background: { r: 80 * i, g: 40, b: 200 - 80 * i } } }).toFile(join(images, name));
  }
  writeFileSync(join(images, 'corrupt.jpg'), 'definitely not a jpeg');
});
afterAll(() => scratch.remove());

describe('vigil models info', () => {
  it('prints kind, graphs, labels, preprocessing, file hashes and provider as JSON', () => {
    const { code, stdout } = vigil('models', 'info', TINY.vit, '--json');
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info.kind).toBe('vit');
    expect(info.provider).toBe('cpu');
    expect(info.labels).toEqual(['red', 'green', 'blue']);
    expect(info.graphs[0].outputs[0]).toEqual({ name: 'logits', type: 'float32', shape: ['batch_size', 3] });
    expect(info.files.map((f: { path: string }) => f.path)).toContain('onnx/model.onnx');
    expect(info.preprocessing.inputSize).toEqual({ height: 32, width: 32 });
  });

  it('exits 2 naming the folder and file for a broken model folder', () => {
    const { code, stderr } = vigil('models', 'info', scratch.path);
    expect(code).toBe(2);
    expect(stderr).toContain(`vigil: Model folder ${scratch.path}: missing config.json`);
  });
});

describe('vigil classify', () => {
  it('classifies folders recursively, reports and skips a bad image, exits 0, writes the results document', () => {
    const out = join(scratch.path, 'out/results.json');
    const { code, stderr } = vigil('classify', images, '--model', TINY.clip, '--labels', 'red, blue', '--template', 'a photo of {label}', '--template', 'the {label} square', '--top', '1', '--out', out);
    expect(code).toBe(0);
    expect(stderr).toMatch(/vigil: skipped .*corrupt.jpg: cannot decode image/);
    const result = JSON.parse(readFileSync(out, 'utf8')) as ClassifyResult;
    expect(result.schema).toBe('vigil/classify');
    expect(result.model.kind).toBe('clip');
    expect(result.labels).toEqual(['red', 'blue']);
    expect(result.templates).toEqual(['a photo of {label}', 'the {label} square']);
    expect(result.images.map((i) => i.file)).toEqual(['corrupt.jpg', 'nested/three.png', 'one.png', 'two.jpg'].map((n) => join(images, n)));
    expect(result.summary).toEqual({ total: 4, classified: 3, failed: 1, cached: 0 });
    const ok = result.images[1];
    expect(ok.top).toHaveLength(1);
    expect(ok.probabilities!.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 6);
    expect(ok.provider).toBe('cpu');
  });

  it('writes CSV with formula-neutralised cells and reports cache hits on a rerun', () => {
    const { code, stdout } = vigil('classify', join(images, 'one.png'), '--model', TINY.clip, '--labels', '=1+2,red', '--csv');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('file,sha256,rank,label,probability,provider,cached,error');
    expect(lines).toHaveLength(1 + 2);
    expect(lines.some((l) => l.includes(",'=1+2,"))).toBe(true);
    expect(lines.some((l) => l.includes(',=1+2'))).toBe(false);
    const again = vigil('classify', join(images, 'one.png'), '--model', TINY.vit, '--json');
    expect((JSON.parse(again.stdout) as ClassifyResult).summary.cached).toBe(0);
    const third = vigil('classify', join(images, 'one.png'), '--model', TINY.vit, '--json');
    expect((JSON.parse(third.stdout) as ClassifyResult).summary.cached).toBe(1);
    expect(vigil('classify', join(images, 'one.png'), '--model', TINY.vit, '--json', '--no-cache').stdout).toContain('"cached": 0');
  });

  it('exits 2 when every input failed', () => {
    const { code, stderr } = vigil('classify', join(images, 'corrupt.jpg'), join(scratch.path, 'missing/*.png'), '--model', TINY.vit, '--json');
    expect(code).toBe(2);
    expect(stderr).toContain('every input failed');
  });

  it('answers bad options with exit 2 and a message naming the option', () => {
    const batch = vigil('classify', images, '--model', TINY.vit, '--batch-size', '0');
    expect(batch.code).toBe(2);
    expect(batch.stderr).toContain('Expected a positive integer for --batch-size but received "0"');
    const device = vigil('classify', images, '--model', TINY.vit, '--device', 'tpu');
    expect(device.stderr).toContain('Expected one of cpu, cuda, webgpu, auto for --device but received "tpu"');
    const noLabels = vigil('classify', images, '--model', TINY.clip);
    expect(noLabels.code).toBe(2);
    expect(noLabels.stderr).toContain('candidate labels for CLIP zero-shot classification (e.g. --labels "cat,dog", or --labels-file) for --labels but received undefined');
  });
});

describe('vigil embed', () => {
  it('writes a float32 .npy matrix with a row index, atomically', () => {
    const out = join(scratch.path, 'emb/embeddings.npy');
    const { code, stderr } = vigil('embed', images, '--model', TINY.clip, '--out', out);
    expect(code).toBe(0);
    expect(stderr).toMatch(/wrote 3 embeddings of size 6 .* \(1 inputs skipped\)/);
    const bytes = readFileSync(out);
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).toBe(0);
    expect(bytes.subarray(10, 10 + headerLength).toString('latin1')).toContain("'shape': (3, 6)");
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + headerLength, bytes.byteOffset + bytes.length));
    expect(data).toHaveLength(18);
    expect(Math.hypot(...data.subarray(0, 6))).toBeCloseTo(1, 5);
    const index = readFileSync(join(scratch.path, 'emb/embeddings.files.csv'), 'utf8').trim().split('\n');
    expect(index[0]).toBe('row,file,sha256');
    expect(index).toHaveLength(4);
  });

  it('writes JSON lines, and refuses a non-CLIP model or another extension', () => {
    const out = join(scratch.path, 'emb.jsonl');
    expect(vigil('embed', join(images, 'one.png'), '--model', TINY.clip, '--out', out).code).toBe(0);
    const line = JSON.parse(readFileSync(out, 'utf8').trim());
    expect(line.file).toBe(join(images, 'one.png'));
    expect(line.embedding).toHaveLength(6);
    const vit = vigil('embed', images, '--model', TINY.vit, '--out', join(scratch.path, 'x.jsonl'));
    expect(vit.code).toBe(2);
    expect(vit.stderr).toContain('is a vit model; embed needs a CLIP model');
    expect(existsSync(join(scratch.path, 'x.jsonl'))).toBe(false);
    expect(vigil('embed', images, '--model', TINY.clip, '--out', 'x.txt').stderr).toContain('a file name ending in .jsonl or .npy for --out');
  });
});
