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

describe('readInputFile', () => {
  it('reads plain files and refuses folders, FIFOs, devices and oversized files with one wording, without blocking', async () => {
    const { readInputFile } = await import('../../src/core/files.js');
    const { execFileSync } = await import('node:child_process');
    const dir = await mkdtemp(join(tmpdir(), 'vigil-read-'));
    await writeFile(join(dir, 'a.png'), 'abc');
    expect((await readInputFile(join(dir, 'a.png'))).toString()).toBe('abc');
    execFileSync('mkfifo', [join(dir, 'pipe.png')]);
    await expect(readInputFile(join(dir, 'pipe.png'), { what: 'image' })).rejects.toThrow(
      `Cannot read image ${join(dir, 'pipe.png')}: it is not a plain file (a device, FIFO or socket)`,
    );
    await expect(readInputFile('/dev/zero')).rejects.toThrow('Cannot read /dev/zero: it is not a plain file');
    await expect(readInputFile(dir)).rejects.toThrow(/it is a folder/);
    await expect(readInputFile(join(dir, 'missing.png'))).rejects.toThrow(`Cannot read ${join(dir, 'missing.png')}: no such file (ENOENT)`);
    await expect(readInputFile(join(dir, 'a.png'), { maxBytes: 2 })).rejects.toThrow('it is 3 bytes, over the limit of 2 bytes');
    await expect(readInputFile(join(dir, 'a.png'), { maxBytes: 2 })).rejects.toBeInstanceOf(VigilInputError);
  });
});
