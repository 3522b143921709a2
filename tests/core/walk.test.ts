/**
 * The one folder walker (src/core/walk.ts): sorted, streamed, --include/--exclude, every skipped
 * entry with its reason, and what provenance's folder runs make of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walk, walkFiles, walkReaches, type SkippedEntry, type WalkOptions } from '../../src/core/walk.js';
import { collectFiles } from '../../src/provenance/walk.js';
import { MEDIA_DIR } from '../provenance/helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-walk-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(root: string, names: string[]): Promise<void> {
  for (const name of names) {
    await mkdir(join(root, name, '..'), { recursive: true });
    await writeFile(join(root, name), 'x');
  }
}

describe('core folder walker', () => {
  it('streams files in the order of the sorted relative paths, also where a name sorts before "/"', async () => {
    const root = join(dir, 'order');
    // 'a-b' < 'a/' < 'a.png' < 'a0' as strings: a per-folder sort on plain names would put a/ first.
    const names = ['a/b.png', 'a-b/x.png', 'a.png', 'a0/c.png', 'B.png', 'z/y/w.png', 'z/y.png'];
    await files(root, names);
    const walked = await walkFiles(root);
    expect(walked).toEqual(names.map((name) => join(root, name)).sort());
  });

  it('is lazy: the first file comes before later folders are read', async () => {
    const root = join(dir, 'lazy');
    await files(root, ['a/1.png', 'a/2.png', 'z/3.png']);
    execFileSync('mkfifo', [join(root, 'z', 'pipe.png')]);
    const skipped: SkippedEntry[] = [];
    const stream = walk(root, { onSkip: (entry) => skipped.push(entry) });
    expect((await stream.next()).value).toBe(join(root, 'a', '1.png'));
    // z/ has not been read yet, so its FIFO has not been reported.
    expect(skipped).toEqual([]);
    const rest: string[] = [];
    for await (const path of stream) rest.push(path);
    expect(rest).toEqual([join(root, 'a', '2.png'), join(root, 'z', '3.png')]);
    expect(skipped).toEqual([{ path: join(root, 'z', 'pipe.png'), reason: 'not a plain file (a device, FIFO or socket)' }]);
  });

  it('applies --include/--exclude globs and reports every file it leaves out, with the reason', async () => {
    const root = join(dir, 'globs');
    await files(root, ['keep.mp4', 'keep.jpg', 'notes.txt', 'drafts/d.mp4', '.cache/t.jpg', 'deep/er/k.mp4']);
    const skipped: SkippedEntry[] = [];
    const found = await walkFiles(root, { include: ['**/*.mp4'], exclude: ['drafts/**'], onSkip: (entry) => skipped.push(entry) });
    expect(found).toEqual([join(root, 'deep/er/k.mp4'), join(root, 'keep.mp4')]);
    const reasons = Object.fromEntries(skipped.map((entry) => [entry.path.slice(root.length + 1), entry.reason]));
    expect(reasons).toEqual({
      '.cache/t.jpg': 'hidden file or folder (name starts with ".")',
      'drafts/d.mp4': 'excluded by --exclude drafts/**',
      'keep.jpg': 'not matched by --include **/*.mp4',
      'notes.txt': 'not matched by --include **/*.mp4',
    });
    // Without onSkip, hidden folders are not even entered; extensions filter in any case.
    expect(await walkFiles(root, { extensions: ['JPG'] })).toEqual([join(root, 'keep.jpg')]);
    expect(await walkFiles(root, { extensions: ['jpg'], dot: true })).toEqual([join(root, '.cache/t.jpg'), join(root, 'keep.jpg')]);
  });

  it('reports links out of the folder, dangling links and links to inner folders; --follow-symlinks follows them once', async () => {
    const root = join(dir, 'links');
    const outside = join(dir, 'links-outside');
    await files(root, ['in.png', 'sub/s.png']);
    await files(outside, ['secret.png']);
    await symlink(join(outside, 'secret.png'), join(root, 'evil.png'));
    await symlink(outside, join(root, 'elsewhere'));
    await symlink('..', join(root, 'sub', 'up'));
    await symlink(join(root, 'missing.png'), join(root, 'dangling.png'));
    await symlink(join(root, 'in.png'), join(root, 'alias.png'));
    const skipped: SkippedEntry[] = [];
    expect(await walkFiles(root, { onSkip: (entry) => skipped.push(entry) })).toEqual(
      ['alias.png', 'in.png', 'sub/s.png'].map((name) => join(root, name)),
    );
    const reasons = Object.fromEntries(skipped.map((entry) => [entry.path.slice(root.length + 1), entry.reason]));
    expect(reasons['evil.png']).toMatch(/^symbolic link to outside the folder/);
    expect(reasons['elsewhere']).toMatch(/^symbolic link to outside the folder/);
    expect(reasons['dangling.png']).toMatch(/dangling/);
    expect(reasons['sub/up']).toMatch(/^symbolic link to a folder inside the folder/);

    const followed = await walkFiles(root, { followSymlinks: true });
    expect(followed).toContain(join(root, 'evil.png'));
    expect(followed).toContain(join(root, 'elsewhere', 'secret.png'));
    // sub/up leads back to the root, walked already: no second copy of anything.
    expect(followed.filter((path) => path.endsWith('/s.png'))).toEqual([join(root, 'sub', 's.png')]);
  });
});

describe('walkReaches: whether a walk yields one path, without walking', () => {
  /** Every path under `root`, through links too (what a user could name as an input inside it). */
  async function everyPath(root: string, depth = 0): Promise<string[]> {
    if (depth > 3) return [];
    const out: string[] = [];
    for (const name of await readdir(root).catch(() => [] as string[])) {
      const path = join(root, name);
      out.push(path);
      out.push(...(await everyPath(path, depth + 1)));
    }
    return out;
  }

  it('agrees with the walk on every path: links in and out, hidden names, extensions, globs, unreadable folders', async () => {
    const root = join(dir, 'reaches');
    const outside = join(dir, 'reaches-outside');
    await files(root, ['a.png', 'b.txt', 'sub/c.PNG', 'sub/deeper/d.jpg', '.hid/e.png', 'sub/.f.png', 'drafts/g.png', 'locked/h.png']);
    await files(outside, ['x.png', 'dir/y.png']);
    await symlink(join(outside, 'x.png'), join(root, 'out.png'));
    await symlink(join(outside, 'dir'), join(root, 'outdir'));
    await symlink(join(root, 'sub', 'c.PNG'), join(root, 'alias.png'));
    await symlink(join(root, 'sub'), join(root, 'sublink'));
    await symlink(join(root, 'nothing.png'), join(root, 'dangling.png'));
    execFileSync('mkfifo', [join(root, 'sub', 'pipe.png')]);
    // Not readable (for any user but root): the walk cannot list it, so nothing in it is reached.
    await chmod(join(root, 'locked'), 0o311);
    try {
      const paths = [...(await everyPath(root)), join(root, 'locked', 'h.png'), join(outside, 'x.png'), root, join(root, '..', 'reaches', 'a.png')];
      const cases: WalkOptions[] = [{}, { extensions: ['png', 'jpg'] }, { dot: true }, { exclude: ['drafts/**'], include: ['**/*.png'] }];
      for (const options of cases) {
        const walked = new Set(await walkFiles(root, options));
        for (const path of paths) {
          expect([path, options, await walkReaches(root, path, options)]).toEqual([path, options, walked.has(path)]);
        }
        // Given the root in another spelling, the walk's paths are still recognised.
        expect(await walkReaches(`${root}/./`, join(root, 'a.png'), options)).toBe(walked.has(join(root, 'a.png')));
      }
      // The cases above did exercise both answers.
      expect(await walkReaches(root, join(root, 'alias.png'))).toBe(true);
      expect(await walkReaches(root, join(root, 'sublink', 'c.PNG'))).toBe(false);
      await expect(walkReaches(root, join(root, 'a.png'), { followSymlinks: true })).rejects.toThrow('does not support followSymlinks');
    } finally {
      await chmod(join(root, 'locked'), 0o755);
    }
  });
});

describe('provenance folder runs through the core walker', () => {
  it('a link out of the folder and a FIFO are listed as skipped with the reason, never verified', async () => {
    const root = join(dir, 'provenance');
    const outside = join(dir, 'provenance-outside');
    await mkdir(root, { recursive: true });
    await mkdir(outside, { recursive: true });
    await copyFile(join(MEDIA_DIR, 'clip.mp4'), join(root, 'clip.mp4'));
    await copyFile(join(MEDIA_DIR, 'tone.wav'), join(outside, 'private.wav'));
    await symlink(join(outside, 'private.wav'), join(root, 'private.wav'));
    execFileSync('mkfifo', [join(root, 'pipe.mp4')]);
    const run = await collectFiles([root], { exclude: ['*.wav'] });
    expect(run.files).toEqual([join(root, 'clip.mp4')]);
    const reasons = Object.fromEntries(run.skipped.map((entry) => [entry.path.slice(root.length + 1), entry.reason]));
    expect(reasons).toEqual({
      'pipe.mp4': 'not a plain file (a device, FIFO or socket)',
      'private.wav': 'symbolic link to outside the folder (pass --follow-symlinks to follow it)',
    });
    // --follow-symlinks: the link is followed, then --exclude applies to it like to any file.
    const followed = await collectFiles([root], { exclude: ['*.wav'], followSymlinks: true });
    expect(followed.files).toEqual([join(root, 'clip.mp4')]);
    expect(followed.skipped.find((entry) => entry.path.endsWith('private.wav'))?.reason).toBe('excluded by --exclude *.wav');
    const included = await collectFiles([root], { followSymlinks: true });
    expect(included.files).toEqual([join(root, 'clip.mp4'), join(root, 'private.wav')]);
  });
});
