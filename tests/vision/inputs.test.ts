/**
 * Inputs of classify / embed as a stream (src/vision/images.ts imageFilesOf, unmatchedInputs): the
 * same files, order and dropped duplicates as listing every path into a set, without the list.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgress } from '../../src/core/progress.js';
import { expandImagePath, imageFilesOf, listImageFiles, unmatchedInputs } from '../../src/vision/images.js';
import { collect } from './helpers.js';

let dir: string;
let root: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-inputs-'));
  root = join(dir, 'photos');
  for (const name of ['a.png', 'b.jpg', 'notes.txt', 'cats/c.png', 'cats/deep/d.webp', 'dogs/e.png', '.hidden/f.png', 'cats/.g.png', 'empty/readme.txt']) {
    await mkdir(join(root, name, '..'), { recursive: true });
    await writeFile(join(root, name), 'x');
  }
  await mkdir(join(dir, 'outside'));
  await writeFile(join(dir, 'outside', 'o.png'), 'x');
  await symlink(join(root, 'cats'), join(root, 'catlink'));
  await symlink(join(root, 'a.png'), join(root, 'alias.png'));
  await symlink(join(dir, 'outside', 'o.png'), join(root, 'out.png'));
  await symlink(root, join(dir, 'photolink'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The rule inputs were deduplicated by when they were listed up front: a set of every resolved path. */
async function listedUpFront(paths: string[]): Promise<string[]> {
  const seen = new Set<string>();
  const files: string[] = [];
  for (const input of paths) {
    for (const file of await expandImagePath(input)) {
      if (seen.has(resolve(file))) continue;
      seen.add(resolve(file));
      files.push(file);
    }
  }
  return files;
}

describe('imageFilesOf', () => {
  it('drops exactly the images an earlier input reached, across overlapping files, folders and globs', async () => {
    const p = (name: string) => join(root, name);
    const overlapping: string[][] = [
      [root, root],
      [root, p('cats')],
      [p('cats'), root],
      [root, p('cats/c.png'), p('a.png'), p('notes.txt'), p('.hidden/f.png'), p('cats/.g.png')],
      [p('cats/c.png'), p('cats'), `${root}/./cats/`, p('cats/../cats/deep')],
      [root, p('catlink'), p('catlink/c.png'), p('alias.png'), p('out.png'), join(dir, 'photolink'), join(dir, 'photolink/a.png')],
      [p('*.png'), root, p('**/*.png'), p('cats/*.png'), p('a.png')],
      [p('dogs'), p('**/*'), p('missing.png'), p('empty'), root],
      [relative(process.cwd(), p('cats')), p('cats/deep/d.webp'), root],
    ];
    for (const inputs of overlapping) {
      const expected = await listedUpFront(inputs);
      expect([inputs, await collect(imageFilesOf(inputs))]).toEqual([inputs, expected]);
    }
    // Some of these did drop images (so the comparison above is not vacuous).
    expect(await collect(imageFilesOf([root, p('cats'), p('a.png')]))).toEqual(await collect(imageFilesOf([root])));
    expect(await collect(imageFilesOf([p('cats/c.png'), root]))).toEqual([p('cats/c.png'), p('a.png'), p('alias.png'), p('b.jpg'), p('cats/deep/d.webp'), p('dogs/e.png')]);
  });

  it('reports each input that gave no image, as listImageFiles does', async () => {
    const unmatched: string[] = [];
    const inputs = [join(root, 'missing.png'), join(root, 'empty'), root, join(root, '*.gif'), root];
    const files = await collect(imageFilesOf(inputs, { onUnmatched: (input) => unmatched.push(input) }));
    expect(unmatched).toEqual([join(root, 'missing.png'), join(root, 'empty'), join(root, '*.gif')]);
    expect(await listImageFiles(inputs)).toEqual({ files, unmatched });
  });

  it('expands each folder as the stream reaches it: a file added to a folder not yet read is found', async () => {
    const lazy = join(dir, 'lazy');
    await mkdir(join(lazy, 'a'), { recursive: true });
    await mkdir(join(lazy, 'z'), { recursive: true });
    await writeFile(join(lazy, 'a', '1.png'), 'x');
    await writeFile(join(lazy, 'z', '2.png'), 'x');
    const stream = imageFilesOf([lazy, join(dir, 'later')]);
    expect((await stream.next()).value).toBe(join(lazy, 'a', '1.png'));
    // Listed up front, neither of these would be in the run.
    await writeFile(join(lazy, 'z', '3.png'), 'x');
    await mkdir(join(dir, 'later'));
    await writeFile(join(dir, 'later', '4.png'), 'x');
    expect(await collect(stream)).toEqual([join(lazy, 'z', '2.png'), join(lazy, 'z', '3.png'), join(dir, 'later', '4.png')]);
  });
});

describe('unmatchedInputs', () => {
  it('finds inputs that match no image before any is read: missing files, folders without images, empty globs', async () => {
    const inputs = [join(root, 'a.png'), join(root, 'missing.png'), join(root, 'empty'), root, join(root, '*.gif'), join(root, '**/*.webp'), join(root, 'notes.txt')];
    expect(await unmatchedInputs(inputs)).toEqual([join(root, 'missing.png'), join(root, 'empty'), join(root, '*.gif')]);
  });
});

describe('progress total of a streamed run', () => {
  it('is counted only when a bar is shown', async () => {
    let counted = 0;
    const count = async () => ++counted;
    const saved = { ci: process.env.CI, tty: process.stderr.isTTY };
    try {
      createProgress('quiet', { quiet: true, count }).stop();
      process.env.CI = '1';
      createProgress('ci', { count }).stop();
      expect(counted).toBe(0);
      delete process.env.CI;
      process.stderr.isTTY = true;
      const shown = createProgress('shown', { count });
      await Promise.resolve();
      shown.stop();
      expect(counted).toBe(1);
    } finally {
      if (saved.ci === undefined) delete process.env.CI;
      else process.env.CI = saved.ci;
      process.stderr.isTTY = saved.tty;
    }
  });
});
