/**
 * `vigil classify` and `vigil embed` write results as they arrive (memory flat at any scale; the
 * RSS is measured by bench/vision-memory, not here). These check the streamed documents are the
 * documents, and that a failed run leaves an existing output file as it was.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClassifyResult } from '../../src/vision/result.js';
import { heldoutImages, runVigil, tempDir, TINY } from './helpers.js';

const scratch = tempDir('stream');
afterAll(() => scratch.remove());
const IMAGES = heldoutImages(12);

function vigil(...args: string[]) {
  return runVigil(scratch.path, ...args);
}

describe('streamed outputs', () => {
  it('classify --json: one document with every image, the summary and the dtype, as JSON.stringify would write it', () => {
    const { code, stdout } = vigil('classify', ...IMAGES, 'missing.png', '--model', TINY.vit, '--json', '--no-cache', '--batch-size', '5');
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as ClassifyResult;
    expect(result.images).toHaveLength(13);
    expect(result.images[0].error).toMatch(/missing\.png: no such file/);
    expect(result.summary).toEqual({ total: 13, classified: 12, failed: 1, cached: 0 });
    expect(result.model.dtype).toBe('fp32');
    expect(result.model.graphs).toEqual([{ file: 'onnx/model.onnx', dtype: 'fp32' }]);
    expect(stdout).toBe(`${JSON.stringify(result, null, 2)}\n`);
  });

  it('embed .npy: a 128-byte header stating the final row count, then the rows', () => {
    const out = join(scratch.path, 'e.npy');
    const { code } = vigil('embed', ...IMAGES, '--model', TINY.clip, '--out', out, '--no-cache');
    expect(code).toBe(0);
    const bytes = readFileSync(out);
    const headerLength = bytes.readUInt16LE(8);
    expect(10 + headerLength).toBe(128);
    expect(bytes.subarray(10, 128).toString('latin1')).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(12, 6\), \} +\n$/);
    expect(bytes.length).toBe(128 + 12 * 6 * 4);
    expect(readFileSync(join(scratch.path, 'e.files.csv'), 'utf8').trim().split('\n')).toHaveLength(13);
  });

  it('a run where every input fails leaves an existing output file untouched and no temporary file', () => {
    const out = join(scratch.path, 'keep.jsonl');
    writeFileSync(out, 'previous results\n');
    const bad = join(scratch.path, 'bad.png');
    writeFileSync(bad, 'not a png');
    const { code, stderr } = vigil('embed', bad, '--model', TINY.clip, '--out', out, '--no-cache');
    expect(code).toBe(2);
    expect(stderr).toContain('every input failed; nothing written');
    expect(readFileSync(out, 'utf8')).toBe('previous results\n');
    expect(readdirSync(scratch.path).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
