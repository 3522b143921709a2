import { createHash, timingSafeEqual } from 'node:crypto';
import { VigilInputError, invalidArgument } from '../core/errors.js';
import { readInputFile } from '../core/files.js';

/** Shorter keys are guessable; a generated key (e.g. `openssl rand -hex 32`) is far longer. */
export const MIN_API_KEY_LENGTH = 16;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * API keys held only as SHA-256 digests. A presented key is hashed and compared against every
 * stored digest with `timingSafeEqual`, without stopping at the first match, so neither the
 * comparison nor the loop leaks how much of a key was right or which key matched.
 */
export class ApiKeyStore {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    if (keys.length === 0) {
      throw new VigilInputError(
        'No API keys configured: set VIGIL_API_KEYS (comma-separated) or pass --api-keys-file <file>',
        { subject: 'VIGIL_API_KEYS' },
      );
    }
    keys.forEach((key, index) => {
      if (key.length < MIN_API_KEY_LENGTH || /\s/.test(key)) {
        throw invalidArgument(
          `API key #${index + 1}`,
          `at least ${MIN_API_KEY_LENGTH} characters without whitespace`,
          `a key of ${key.length} characters`,
        );
      }
    });
    this.digests = [...new Set(keys)].map(sha256);
  }

  get size(): number {
    return this.digests.length;
  }

  /** True when the Authorization header carries `Bearer <a configured key>`. */
  verifyAuthorization(header: string | undefined): boolean {
    return this.keyIdOf(header) !== undefined;
  }

  /**
   * Which configured key the Authorization header carries (a stable id for per-key limits, never
   * the key), or undefined when none does.
   */
  keyIdOf(header: string | undefined): string | undefined {
    const match = /^Bearer ([^\s]+)\s*$/i.exec(header ?? '');
    if (!match) return undefined;
    const presented = sha256(match[1]);
    let found: number | undefined;
    this.digests.forEach((digest, index) => {
      if (timingSafeEqual(presented, digest) && found === undefined) found = index;
    });
    return found === undefined ? undefined : `key-${found + 1}`;
  }
}

/** Keys from a file: one per line; blank lines and lines starting with # are ignored. */
export function parseApiKeysFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

/** The keys of `--api-keys-file` when given, else of `VIGIL_API_KEYS` (comma-separated). */
export async function loadApiKeys(options: { apiKeysFile?: string; env?: NodeJS.ProcessEnv }): Promise<ApiKeyStore> {
  if (options.apiKeysFile !== undefined) {
    const text = (await readInputFile(options.apiKeysFile, { what: '--api-keys-file', maxBytes: 1024 * 1024 })).toString('utf8');
    return new ApiKeyStore(parseApiKeysFile(text));
  }
  const fromEnv = (options.env ?? process.env).VIGIL_API_KEYS ?? '';
  return new ApiKeyStore(
    fromEnv
      .split(',')
      .map((key) => key.trim())
      .filter((key) => key.length > 0),
  );
}
