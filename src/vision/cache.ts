import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errorMessage, VigilInputError } from '../core/errors.js';
import { sha256Hex, writeFileAtomic } from '../core/files.js';
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
 * On-disk observation cache: one small file per (model sha256, image sha256, preprocessing,
 * output kind), holding a one-line JSON header and the float32 values (little-endian). Entries
 * are written atomically, so concurrent runs sharing a cache never read a half-written entry;
 * an unreadable or inconsistent entry is treated as a miss.
 */
export class ObservationCache {
  constructor(
    private readonly dir: string,
    private readonly scope: { modelSha256: string; preprocessingKey: string; output: string },
  ) {}

  private path(imageSha256: string): string {
    const key = sha256Hex(
      `${this.scope.modelSha256}\n${this.scope.preprocessingKey}\n${this.scope.output}\n${imageSha256}`,
    );
    return join(this.dir, this.scope.modelSha256.slice(0, 16), key.slice(0, 2), `${key}.obs`);
  }

  async get(imageSha256: string): Promise<CachedOutput | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path(imageSha256));
    } catch {
      return undefined;
    }
    const newline = bytes.indexOf(0x0a);
    if (newline < 0) return undefined;
    try {
      const header = JSON.parse(bytes.subarray(0, newline).toString('utf8')) as { provider: ExecutionProvider; length: number };
      const body = bytes.subarray(newline + 1);
      if (body.length !== header.length * 4) return undefined;
      // Copy into an aligned buffer: the body's offset in the file need not be a multiple of 4.
      const values = new Float32Array(header.length);
      new Uint8Array(values.buffer).set(body);
      return { provider: header.provider, values };
    } catch {
      return undefined;
    }
  }

  async set(imageSha256: string, output: CachedOutput): Promise<void> {
    const header = Buffer.from(`${JSON.stringify({ provider: output.provider, length: output.values.length })}\n`);
    const body = new Uint8Array(output.values.buffer, output.values.byteOffset, output.values.byteLength);
    try {
      await writeFileAtomic(this.path(imageSha256), Buffer.concat([header, body]));
    } catch (error) {
      throw new VigilInputError(
        `Cannot write the observation cache in ${this.dir} (${errorMessage(error)}); choose another with VIGIL_CACHE_DIR or disable it`,
        { subject: this.dir, cause: error },
      );
    }
  }
}
