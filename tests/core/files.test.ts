import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256File, sha256Hex, writeFileAtomic } from '../../src/core/files.js';
import { VigilInputError, invalidArgument } from '../../src/core/errors.js';

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temp file behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-files-'));
    const target = join(dir, 'nested', 'results.json');
    await writeFileAtomic(target, 'first');
    await writeFileAtomic(target, 'second');
    expect(await readFile(target, 'utf8')).toBe('second');
    expect(await readdir(join(dir, 'nested'))).toEqual(['results.json']);
  });

  it('leaves the old content when the write fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-files-'));
    const target = join(dir, 'out.json');
    await writeFile(target, 'old');
    // A directory where the target should be: rename fails after the temp file was written.
    await expect(writeFileAtomic(join(dir, 'out.json', 'x'), 'new')).rejects.toThrow();
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['out.json']);
  });
});

describe('hashing', () => {
  it('streams files to the same digest as hashing the bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-files-'));
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    await writeFile(join(dir, 'big.bin'), bytes);
    const expected = createHash('sha256').update(bytes).digest('hex');
    expect(await sha256File(join(dir, 'big.bin'))).toBe(expected);
    expect(sha256Hex(bytes)).toBe(expected);
  });
});

describe('invalidArgument', () => {
  it('names the parameter, what was expected and what was received', () => {
    const error = invalidArgument('batchSize', 'a positive integer', 0);
    expect(error).toBeInstanceOf(VigilInputError);
    expect(error.message).toBe('Expected a positive integer for batchSize but received 0');
    expect(invalidArgument('labels', 'a non-empty list', 'x'.repeat(200)).message).toMatch(/\.\.\."$/);
  });
});
