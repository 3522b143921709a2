/**
 * Cache poisoning: rewritten cache entries silently flipped verdicts. Entries now carry a
 * checksum; a rewritten one is detected, dropped and recomputed, and `vigil cache verify` finds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { cacheStore, CacheStore } from '../../src/vision/cache-store.js';
import { classify, loadModel, type VitModel } from '../../src/vision/index.js';
import { collect, TINY } from '../vision/helpers.js';
import { run } from '../service/cli.js';

let dir: string;
let vit: VitModel;
const images: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-adversarial-cache-'));
  await mkdir(join(dir, 'images'));
  for (let i = 0; i < 12; i++) {
    const path = join(dir, 'images', `${i}.png`);
    await sharp({ create: { width: 24 + i, height: 24, channels: 3, background: { r: 20 * i, g: 200 - 15 * i, b: (70 * i) % 255 } } }).png().toFile(path);
    images.push(path);
  }
  vit = (await loadModel(TINY.vit)) as VitModel;
});
afterAll(async () => {
  await vit?.release();
  await rm(dir, { recursive: true, force: true });
});

describe('cache poisoning', () => {
  it('entries rewritten to flip the top label are detected and recomputed: every answer equals a cache-free run', async () => {
    const cacheDir = join(dir, 'poisoned');
    const truth = await collect(classify(vit, images, { cacheDir: false }));
    await collect(classify(vit, images, { cacheDir }));
    // The attack: reverse every entry's logits in place (same length, so the old layout took them).
    const store = cacheStore(cacheDir);
    const rows = store.database.prepare('SELECT key, body FROM entries').all() as { key: string; body: Buffer }[];
    expect(rows).toHaveLength(images.length);
    for (const row of rows) {
      const values = new Float32Array(row.body.buffer.slice(row.body.byteOffset, row.body.byteOffset + row.body.length)).reverse();
      store.database.prepare('UPDATE entries SET body = ? WHERE key = ?').run(Buffer.from(values.buffer), row.key);
    }
    const verify = await run(['cache', 'verify', '--cache-dir', cacheDir, '--json']);
    expect(verify.code).toBe(1);
    expect(JSON.parse(verify.stdout)).toMatchObject({ checked: images.length, corrupt: images.length });

    const inferred = vit.stats.imagesInferred;
    const again = await collect(classify(vit, images, { cacheDir }));
    expect(vit.stats.imagesInferred - inferred).toBe(images.length); // all recomputed
    for (const [i, obs] of again.entries()) {
      if (obs.error !== undefined || truth[i].error !== undefined) throw new Error('expected success');
      expect(obs.cached).toBe(false);
      expect(obs.top[0].label).toBe((truth[i] as typeof obs).top[0].label);
      expect(obs.logits).toEqual((truth[i] as typeof obs).logits);
    }
    expect(store.verify()).toMatchObject({ checked: images.length, corrupt: 0 });
  }, 60_000);

  it('`vigil cache verify --repair` deletes damaged entries; `stats` and `prune` report and shrink the store', async () => {
    const cacheDir = join(dir, 'cli');
    await collect(classify(vit, images, { cacheDir }));
    cacheStore(cacheDir).database.prepare("UPDATE entries SET provider = 'forged' WHERE rowid IN (SELECT rowid FROM entries LIMIT 3)").run();
    const repaired = await run(['cache', 'verify', '--cache-dir', cacheDir, '--repair']);
    expect(repaired.code).toBe(1);
    expect(repaired.stdout).toContain(`${images.length} entries checked, 3 damaged or rewritten (deleted)`);
    expect(JSON.parse((await run(['cache', 'stats', '--cache-dir', cacheDir, '--json'])).stdout)).toMatchObject({ entries: images.length - 3 });
    // An old-layout entry file is removed by prune.
    await mkdir(join(cacheDir, 'abcdef0123456789', '00'), { recursive: true });
    await writeFile(join(cacheDir, 'abcdef0123456789', '00', 'x.obs'), 'old');
    const pruned = JSON.parse((await run(['cache', 'prune', '--cache-dir', cacheDir, '--max-mb', '0.0001', '--json'])).stdout) as { entries: number; dataBytes: number; legacyFilesRemoved: number };
    expect(pruned.legacyFilesRemoved).toBe(1);
    expect(pruned.dataBytes).toBeLessThanOrEqual(0.0001 * 2 ** 20);
    expect(pruned.entries).toBeLessThan(images.length - 3);
  }, 60_000);

  it('a size cap evicts the least recently used entries first', () => {
    const store = new CacheStore(join(dir, 'capped'), 4000);
    const entry = { provider: 'cpu', values: new Float32Array(100) }; // 400 bytes each
    for (let i = 0; i < 8; i++) store.set(`k${i}`, { model: 'm', output: 'o' }, entry);
    store.get('k0'); // k0 is now the most recently used
    for (let i = 8; i < 16; i++) store.set(`k${i}`, { model: 'm', output: 'o' }, entry);
    expect(store.stats(0).dataBytes).toBeLessThanOrEqual(4000);
    expect(store.get('k1')).toBeUndefined();
    expect(store.get('k15')).toBeDefined();
    store.close();
  });

  it('two processes writing the same cache at once lose nothing and corrupt nothing', async () => {
    const cacheDir = join(dir, 'concurrent');
    const script = join(dir, 'writer.mts');
    await writeFile(
      script,
      `import { cacheStore } from ${JSON.stringify(join(PACKAGE_ROOT, 'src/vision/cache-store.ts'))};
const store = cacheStore(process.argv[2]);
for (let i = 0; i < 300; i++) store.set(process.argv[3] + i, { model: 'm', output: 'o' }, { provider: 'cpu', values: Float32Array.from({ length: 64 }, (_, j) => i + j) });
`,
    );
    const writers = ['a', 'b'].map(
      (prefix) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', script, cacheDir, prefix], { cwd: PACKAGE_ROOT, stdio: 'ignore' });
          child.once('exit', resolve);
        }),
    );
    expect(await Promise.all(writers)).toEqual([0, 0]);
    const store = cacheStore(cacheDir);
    expect(store.verify()).toEqual({ checked: 600, corrupt: 0, corruptKeys: [] });
    expect(store.get('b299')?.values[0]).toBe(299);
  }, 60_000);
});
