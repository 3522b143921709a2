import { mkdtempSync, rmSync } from 'node:fs';
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
