import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listImageFiles } from '../../src/vision/index.js';

export const FIXTURES = join(process.cwd(), 'fixtures', 'screen');
export const TRAIN_REAL = join(FIXTURES, 'train', 'real');
export const TRAIN_FAKE = join(FIXTURES, 'train', 'fake');
export const HELDOUT_REAL = join(FIXTURES, 'heldout', 'real');
export const HELDOUT_FAKE = join(FIXTURES, 'heldout', 'fake');
export const CLIP_DIR = join(process.cwd(), 'fixtures', 'models', 'clip');
export const MAE_DIR = join(process.cwd(), 'fixtures', 'models', 'mae');
/** The tiny CLIP and MAE fixtures come from the models engineer; model-signal tests need them. */
export const HAVE_MODELS = existsSync(join(CLIP_DIR, 'config.json')) && existsSync(join(MAE_DIR, 'config.json'));

export async function tempDir(prefix = 'vigil-screen-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function images(dir: string): Promise<string[]> {
  return (await listImageFiles([dir])).files;
}
