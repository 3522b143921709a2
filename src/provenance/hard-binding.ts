import { createHash } from 'node:crypto';
import type { CrJson } from './engine.js';

/**
 * vigil's own check of a C2PA data-hash hard binding (`c2pa.hash.data`): the hash over every byte
 * of the asset outside the declared exclusion ranges. c2pa-rs raises assertion.dataHash.mismatch
 * both when those bytes changed and when the exclusion does not line up with where the manifest
 * sits in the file; re-hashing the declared range tells the two apart. The same check binds a
 * sidecar (.c2pa) manifest to its asset, which c2pa-rs cannot be given together through the wasm API.
 */

export interface DataHashAssertion {
  alg?: string;
  hash: Uint8Array;
  exclusions: { start: number; length: number }[];
}

export interface RehashResult {
  /** True when the bytes outside the exclusions hash to the signed value. */
  match: boolean;
  alg: string;
  /** Bytes hashed (the asset minus the exclusions). */
  coveredBytes: number;
  /** Bytes the exclusions leave uncovered. */
  excludedBytes: number;
}

const HASH_ALGORITHMS: Readonly<Record<string, string>> = { sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

/** crJSON writes byte strings as `b64'...'`. */
export function crJsonBytes(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^b64'([A-Za-z0-9+/=]*)'$/.exec(value);
  return match ? Buffer.from(match[1], 'base64') : undefined;
}

/** The data-hash assertion of a manifest in the crJSON, when it has one. */
export function dataHashOf(crJson: CrJson, manifestLabel: string): DataHashAssertion | undefined {
  const manifest = crJson.manifests?.find((entry) => entry.label === manifestLabel) as { assertions?: Record<string, unknown> } | undefined;
  const key = Object.keys(manifest?.assertions ?? {}).find((name) => name === 'c2pa.hash.data' || name.startsWith('c2pa.hash.data__'));
  const raw = key === undefined ? undefined : (manifest?.assertions?.[key] as { alg?: unknown; hash?: unknown; exclusions?: unknown } | undefined);
  const hash = crJsonBytes(raw?.hash);
  if (!raw || !hash) return undefined;
  const exclusions = Array.isArray(raw.exclusions)
    ? raw.exclusions.filter(
        (entry): entry is { start: number; length: number } =>
          typeof entry === 'object' && entry !== null && Number.isSafeInteger((entry as { start: unknown }).start) && Number.isSafeInteger((entry as { length: unknown }).length),
      )
    : [];
  return { ...(typeof raw.alg === 'string' ? { alg: raw.alg } : {}), hash, exclusions };
}

/**
 * Re-hashes the asset over the declared range. Undefined when it cannot be done (unknown
 * algorithm, exclusions outside the file or overlapping).
 */
export function rehashDataHash(asset: Uint8Array, assertion: DataHashAssertion, defaultAlg = 'sha256'): RehashResult | undefined {
  const alg = HASH_ALGORITHMS[assertion.alg ?? defaultAlg];
  if (alg === undefined) return undefined;
  const ranges = [...assertion.exclusions].sort((a, b) => a.start - b.start);
  const hash = createHash(alg);
  let position = 0;
  let excludedBytes = 0;
  for (const range of ranges) {
    if (range.start < position || range.length < 0 || range.start + range.length > asset.length) return undefined;
    hash.update(asset.subarray(position, range.start));
    position = range.start + range.length;
    excludedBytes += range.length;
  }
  hash.update(asset.subarray(position));
  const digest = hash.digest();
  return { match: Buffer.from(assertion.hash).equals(digest), alg, coveredBytes: asset.length - excludedBytes, excludedBytes };
}
