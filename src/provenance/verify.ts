import { readFile } from 'node:fs/promises';
import { errorMessage, VigilInputError } from '../core/errors.js';
import { sha256Hex } from '../core/files.js';
import { createProgress } from '../core/progress.js';
import { resultEnvelope } from '../core/results.js';
import { isNoManifestError, readAsset, type EngineReading } from './engine.js';
import { requireImageFormat } from './formats.js';
import type { FileVerification, ProvenanceResults, ProvenanceSummary, SoftBindingLookup, StatusCodes } from './result.js';
import { bucketCodes, emptyCodes, stateFromCodes, statusCode, summarizeActiveManifest } from './summarize.js';
import type { TrustList } from './trust.js';

export interface VerifyOptions {
  /** Named trust lists; the signer's chain is checked against each separately. */
  trustLists?: readonly TrustList[];
  /** Consulted for files without a manifest (soft-binding recovery). */
  softBinding?: { lookup(bytes: Uint8Array, options: { subject: string }): Promise<SoftBindingLookup | undefined> };
}

function codesOf(reading: EngineReading): StatusCodes {
  const codes = bucketCodes(reading.store.validation_results?.activeManifest);
  for (const delta of reading.store.validation_results?.ingredientDeltas ?? []) bucketCodes(delta.validationDeltas, codes);
  return codes;
}

/** c2pa-rs's own verdict on the active manifest (vigil computes ingredients' states the same way). */
function engineState(reading: EngineReading): 'Trusted' | 'Valid' | 'Invalid' | undefined {
  const state = reading.store.validation_state;
  return state === 'Trusted' || state === 'Valid' || state === 'Invalid' ? state : undefined;
}

function isTrusted(reading: EngineReading): boolean {
  return (reading.store.validation_results?.activeManifest?.success ?? []).some((entry) => entry.code === 'signingCredential.trusted');
}

/**
 * Verifies an image held in memory (the service calls this on uploads). Never throws for what is
 * wrong with the image's provenance: that is the verdict. Throws VigilInputError only for bytes
 * that are not a supported image.
 */
export async function verifyBytes(bytes: Uint8Array, path: string, options: VerifyOptions = {}): Promise<FileVerification> {
  const mime = requireImageFormat(bytes, path);
  const trustLists = options.trustLists ?? [];
  const base = { path, sha256: sha256Hex(bytes), format: mime };
  let reading: EngineReading;
  try {
    // One read against the union of all anchors gives the verdict; per-list reads below say which lists.
    reading = await readAsset(mime, bytes, { trustAnchors: trustLists.map((list) => list.pem).join('') || undefined });
  } catch (error) {
    const message = errorMessage(error);
    if (isNoManifestError(message)) {
      const softBinding = await options.softBinding?.lookup(bytes, { subject: path });
      return {
        ...base,
        state: 'NoManifest',
        codes: emptyCodes(),
        manifestCount: 0,
        trustLists: trustLists.map((list) => ({ name: list.name, trusted: false })),
        ...(softBinding === undefined ? {} : { softBinding }),
      };
    }
    // c2pa-rs found a manifest it cannot parse (truncated, corrupted): the provenance is broken.
    const codes = emptyCodes();
    codes.failure.push(statusCode({ code: 'general.error', explanation: message }, 'failure'));
    return { ...base, state: 'Invalid', error: `manifest could not be read: ${message}`, codes, manifestCount: 0, trustLists: [] };
  }
  const codes = codesOf(reading);
  const trustedByUnion = isTrusted(reading);
  const trustedBy: string[] = [];
  if (trustedByUnion && trustLists.length === 1) trustedBy.push(trustLists[0].name);
  if (trustedByUnion && trustLists.length > 1) {
    for (const list of trustLists) {
      if (isTrusted(await readAsset(mime, bytes, { trustAnchors: list.pem }))) trustedBy.push(list.name);
    }
  }
  const activeManifest = summarizeActiveManifest(reading.store, reading.crJson, codes, trustedBy);
  return {
    ...base,
    state: engineState(reading) ?? stateFromCodes(codes),
    codes,
    manifestCount: Object.keys(reading.store.manifests ?? {}).length,
    ...(activeManifest === undefined ? {} : { activeManifest }),
    trustLists: trustLists.map((list) => ({ name: list.name, trusted: trustedBy.includes(list.name) })),
  };
}

/** Verifies one file; a file that cannot be read or is not a supported image is recorded, not thrown. */
export async function verifyFile(path: string, options: VerifyOptions = {}): Promise<FileVerification> {
  try {
    return await verifyBytes(await readFile(path), path, options);
  } catch (error) {
    if (!(error instanceof VigilInputError) && !isFileSystemError(error)) throw error;
    return { path, error: errorMessage(error), codes: emptyCodes(), manifestCount: 0, trustLists: [] };
  }
}

function isFileSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && 'syscall' in error;
}

export function summarizeFiles(files: readonly FileVerification[]): ProvenanceSummary {
  return {
    files: files.length,
    trusted: files.filter((file) => file.state === 'Trusted').length,
    valid: files.filter((file) => file.state === 'Valid').length,
    invalid: files.filter((file) => file.state === 'Invalid').length,
    noManifest: files.filter((file) => file.state === 'NoManifest').length,
    errors: files.filter((file) => file.state === undefined).length,
    aiGenerated: files.filter((file) => file.activeManifest?.aiGenerated).length,
    recovered: files.filter((file) => file.softBinding?.match !== undefined).length,
  };
}

/** Verifies every path (in order) into a results document. */
export async function verifyPaths(paths: readonly string[], options: VerifyOptions & { quiet?: boolean } = {}): Promise<ProvenanceResults> {
  const progress = createProgress('verify', { quiet: options.quiet, total: paths.length });
  const files: FileVerification[] = [];
  try {
    for (const path of paths) {
      files.push(await verifyFile(path, options));
      progress.increment();
    }
  } finally {
    progress.stop();
  }
  return {
    ...resultEnvelope('provenance'),
    schema: 'vigil/provenance',
    trustLists: (options.trustLists ?? []).map((list) => ({ name: list.name, file: list.file, anchors: list.anchors.length })),
    summary: summarizeFiles(files),
    files,
  };
}

/** What the screening metadata signal needs from a file's C2PA manifest. */
export interface ProvenanceDigest {
  state: FileVerification['state'];
  /** digitalSourceType URIs declared by the active manifest's actions, verbatim. */
  digitalSourceTypes: string[];
  aiGenerated: boolean;
  /** The claim generator string (claim v1), or "name version" of the claim generator info (v2). */
  claimGenerator?: string;
}

/** A file's C2PA digitalSourceType(s) and state from its bytes (no trust lists, no index). */
export async function readProvenance(bytes: Uint8Array, path = '(bytes)'): Promise<ProvenanceDigest> {
  const result = await verifyBytes(bytes, path);
  const manifest = result.activeManifest;
  const info = manifest?.claimGeneratorInfo[0];
  const claimGenerator = manifest?.claimGenerator ?? (info ? [info.name, info.version].filter(Boolean).join(' ') : undefined);
  return {
    state: result.state,
    digitalSourceTypes: (manifest?.digitalSourceTypes ?? []).map((type) => type.uri),
    aiGenerated: manifest?.aiGenerated ?? false,
    ...(claimGenerator ? { claimGenerator } : {}),
  };
}
