import { resolve } from 'node:path';
import { sha256Hex } from '../core/files.js';
import { cacheStore } from './cache-store.js';
import type { ExecutionProvider } from './types.js';

/** What one cache entry holds: the raw model output for one image and the provider that made it. */
export interface CachedOutput {
  provider: ExecutionProvider;
  values: Float32Array;
}

/** The cache directory a run uses: the option, else $VIGIL_CACHE_DIR, else .vigil-cache/ in the cwd. */
export function resolveCacheDir(option: string | false | undefined): string | null {
  if (option === false) return null;
  return resolve(option ?? process.env.VIGIL_CACHE_DIR ?? '.vigil-cache');
}

/**
 * Observation cache: one entry per (model sha256, image sha256, preprocessing, output kind),
 * holding the float32 values and the provider that made them, in the folder's SQLite store
 * (cache-store.ts). An entry that is damaged or was rewritten fails its checksum and is a miss,
 * so it is recomputed.
 */
export class ObservationCache {
  constructor(
    private readonly dir: string,
    private readonly scope: { modelSha256: string; preprocessingKey: string; output: string },
  ) {}

  /** The entry's key: every input that changes the values. */
  key(imageSha256: string): string {
    return sha256Hex(`${this.scope.modelSha256}\n${this.scope.preprocessingKey}\n${this.scope.output}\n${imageSha256}`);
  }

  async get(imageSha256: string): Promise<CachedOutput | undefined> {
    const entry = cacheStore(this.dir).get(this.key(imageSha256));
    return entry === undefined ? undefined : { provider: entry.provider as ExecutionProvider, values: entry.values };
  }

  async set(imageSha256: string, output: CachedOutput): Promise<void> {
    cacheStore(this.dir).set(this.key(imageSha256), { model: this.scope.modelSha256, output: this.scope.output }, output);
  }
}
