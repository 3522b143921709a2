import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Tiny random-weight models with real export layouts (see fixtures/make_tiny_models.py). */
export const TINY = {
  vit: fileURLToPath(new URL('./fixtures/models/vit', import.meta.url)),
  clip: fileURLToPath(new URL('./fixtures/models/clip', import.meta.url)),
  mae: fileURLToPath(new URL('./fixtures/models/mae', import.meta.url)),
};

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `vigil-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

export { cosineSimilarity as cosine } from '../../src/core/vectors.js';

/** The first `count` held-out PNGs of the bundled dataset (fixtures/images/heldout), sorted. */
export function heldoutImages(count: number): string[] {
  const dir = join(REPO_ROOT, 'fixtures/images/heldout');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .slice(0, count)
    .map((f) => join(dir, f));
}

/** Runs the vigil CLI (through tsx) in `cwd` with its observation cache in `cwd/cache`. */
export function runVigil(cwd: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), [join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, VIGIL_CACHE_DIR: join(cwd, 'cache'), CI: '1' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
