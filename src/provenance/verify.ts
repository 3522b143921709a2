import { readFile } from 'node:fs/promises';
import { errorMessage, VigilInputError } from '../core/errors.js';
import { sha256Hex } from '../core/files.js';
import { createProgress } from '../core/progress.js';
import { resultEnvelope } from '../core/results.js';
import { declaresAi, discloseAi, DISCLOSURE_LEVELS, type DisclosureLevel } from './disclosure.js';
import { sniffImageMime } from '../core/image-format.js';
import { isNoManifestError, readAsset, remoteManifestUrl, type EngineReading, type EngineSettings, type ManifestStoreJson, type ResourceRefJson } from './engine.js';
import type { EngineReader } from './engine-pool.js';
import { isRasterImage, requireProvenanceFormat, type ProvenanceMime } from './formats.js';
import { dataHashOf, rehashDataHash } from './hard-binding.js';
import { withGuardedFetch, type RemoteFetchLimits } from './remote.js';
import type { EmbeddedThumbnail, FileVerification, ManifestSummary, ProvenanceResults, ProvenanceSummary, SkippedFile, SoftBindingLookup, StatusCode, StatusCodes } from './result.js';
import { bucketCodes, emptyCodes, stateFromCodes, statusCode, summarizeActiveManifest } from './summarize.js';
import { engineTrust, type TrustList } from './trust.js';

export interface VerifyOptions {
  /** Trust lists of every purpose; the signer's chain is checked against each signer list separately. */
  trustLists?: readonly TrustList[];
  /** Consulted for files without a manifest (soft-binding recovery). */
  softBinding?: { lookup(bytes: Uint8Array, options: { subject: string }): Promise<SoftBindingLookup | undefined> };
  /** Fetch remote (cloud) manifests within these limits (--fetch-remote); absent: report manifest.inaccessible. */
  fetchRemote?: RemoteFetchLimits;
  /** Where c2pa-rs reads run (an engine pool's workers); default the in-process engine. */
  engine?: EngineReader;
  /**
   * Carry the claim and ingredient thumbnails inline in the results (--thumbnails): off by default,
   * since they add up to MAX_THUMBNAIL_BYTES each to results.json and can show people.
   */
  thumbnails?: boolean;
}

/** Larger thumbnails are left out (c2pa-rs's own default thumbnail is a 1024 px JPEG of a few tens of KB). */
export const MAX_THUMBNAIL_BYTES = 128 * 1024;

/** A thumbnail's bytes as results carry them, when they really are a JPEG or PNG; anything else (markup, other formats) is dropped. */
function embeddedThumbnail(ref: ResourceRefJson | undefined, thumbnails: Record<string, Uint8Array>): EmbeddedThumbnail | undefined {
  const bytes = ref?.identifier === undefined ? undefined : thumbnails[ref.identifier];
  if (bytes === undefined || bytes.length > MAX_THUMBNAIL_BYTES) return undefined;
  const mime = sniffImageMime(bytes);
  if (mime !== 'image/jpeg' && mime !== 'image/png') return undefined;
  return { mime, base64: Buffer.from(bytes).toString('base64'), bytes: bytes.length };
}

/** Puts the thumbnails read with the store onto the summary tree (ingredients are summarized in the store's order). */
function attachThumbnails(summary: ManifestSummary, store: ManifestStoreJson, thumbnails: Record<string, Uint8Array>, depth = 0): void {
  const manifest = store.manifests[summary.label];
  if (manifest === undefined || depth > 16) return;
  const claim = embeddedThumbnail(manifest.thumbnail, thumbnails);
  if (claim) summary.thumbnail = claim;
  summary.ingredients.forEach((node, index) => {
    const ingredient = embeddedThumbnail(manifest.ingredients?.[index]?.thumbnail, thumbnails);
    if (ingredient) node.thumbnail = ingredient;
    if (node.manifest) attachThumbnails(node.manifest, store, thumbnails, depth + 1);
  });
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
 * Whether the bytes hold a C2PA manifest store, readable or not: a JUMBF description box labelled
 * c2pa, or the element text formats (SVG) carry it in base64.
 */
function containsManifestStore(bytes: Uint8Array): boolean {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.includes('c2pa:manifest') || buffer.includes('http://c2pa.org/manifest')) return true;
  let at = buffer.indexOf('jumd');
  while (at !== -1) {
    if (buffer.subarray(at, at + 64).includes('c2pa')) return true;
    at = buffer.indexOf('jumd', at + 4);
  }
  return false;
}

const DATA_HASH_ACTIVE = /\/c2pa\.assertions\/c2pa\.hash\.data/;

/** The data hash of the active manifest re-hashed over the declared range: what the mismatch means for this file. */
function dataHashFinding(asset: Uint8Array, reading: EngineReading): { match: boolean; finding: string } | undefined {
  const label = reading.store.active_manifest;
  const assertion = label === undefined ? undefined : dataHashOf(reading.crJson, label);
  const rehash = assertion === undefined ? undefined : rehashDataHash(asset, assertion);
  if (rehash === undefined) return undefined;
  return rehash.match
    ? {
        match: true,
        finding: `vigil re-hashed the declared range (${rehash.coveredBytes} bytes, ${rehash.alg}) and it matches the signed hash: the covered bytes are as signed. The mismatch comes from the exclusion range (${rehash.excludedBytes} bytes) not lining up with where the manifest sits in the file; bytes inside that range are not covered by the hash.`,
      }
    : {
        match: false,
        finding: `vigil re-hashed the declared range (${rehash.coveredBytes} bytes, ${rehash.alg}) and it does not match the signed hash: bytes covered by the signature changed after signing.`,
      };
}

function explainDataHashMismatch(asset: Uint8Array, reading: EngineReading, codes: StatusCodes): void {
  const mismatches = codes.failure.filter((code) => code.code === 'assertion.dataHash.mismatch' && DATA_HASH_ACTIVE.test(code.url ?? ''));
  if (mismatches.length === 0) return;
  const finding = dataHashFinding(asset, reading)?.finding ?? 'vigil could not re-hash the declared range (unknown algorithm or exclusions outside the file), so it cannot tell which cause applies.';
  for (const code of mismatches) code.finding = finding;
}

/** Reads with the given settings; with --fetch-remote a remote manifest is fetched through the guarded fetch. */
async function read(mime: ProvenanceMime, bytes: Uint8Array, settings: EngineSettings, options: VerifyOptions, remoteUrl?: string): Promise<EngineReading> {
  if (remoteUrl === undefined || options.fetchRemote === undefined) return (options.engine ?? readAsset)(mime, bytes, settings);
  return withGuardedFetch(remoteUrl, options.fetchRemote, () => readAsset(mime, bytes, { ...settings, remoteManifestFetch: true }));
}

function verdictCode(code: string, kind: 'failure' | 'informational', explanation: string): StatusCodes {
  const codes = emptyCodes();
  codes[kind].push(statusCode({ code, explanation }, kind));
  return codes;
}

interface BaseVerification {
  path: string;
  sha256: string;
  format: ProvenanceMime;
}

async function noManifest(base: BaseVerification, bytes: Uint8Array, options: VerifyOptions): Promise<FileVerification> {
  // Fingerprints are perceptual hashes of decoded pixels: raster images only.
  const softBinding = isRasterImage(base.format) ? await options.softBinding?.lookup(bytes, { subject: base.path }) : undefined;
  return {
    ...base,
    state: 'NoManifest',
    codes: emptyCodes(),
    manifestCount: 0,
    trustLists: signerLists(options).map((list) => ({ name: list.name, trusted: false })),
    disclosure: discloseAi({ manifests: {} }),
    ...(softBinding === undefined ? {} : { softBinding }),
  };
}

function signerLists(options: VerifyOptions): TrustList[] {
  return (options.trustLists ?? []).filter((list) => list.purpose === 'signer');
}

/** What c2pa-rs's error means when it could not read the store at all. */
async function unreadableVerdict(base: BaseVerification, bytes: Uint8Array, message: string, options: VerifyOptions): Promise<FileVerification> {
  const url = remoteManifestUrl(message);
  if (url !== undefined) {
    const fetched = options.fetchRemote !== undefined;
    const error = fetched ? `the remote manifest could not be fetched or read: ${message}` : 'remote manifest not fetched (verification is offline; --fetch-remote fetches it)';
    return {
      ...base,
      state: 'Unreadable',
      error,
      codes: verdictCode('manifest.inaccessible', 'failure', `remote manifest at ${url}`),
      manifestCount: 0,
      trustLists: [],
      remoteManifest: { url, fetched: false, ...(fetched ? { error: message } : {}) },
    };
  }
  if (isNoManifestError(message)) return noManifest(base, bytes, options);
  if (containsManifestStore(bytes)) {
    // A manifest is there but c2pa-rs cannot parse it (truncated, corrupted): the provenance is broken.
    return { ...base, state: 'Invalid', error: `manifest could not be read: ${message}`, codes: verdictCode('general.error', 'failure', message), manifestCount: 0, trustLists: [] };
  }
  // Not parseable as its format and no manifest in it: nothing can be said either way.
  return { ...base, state: 'Unreadable', error: `the file cannot be parsed as ${base.format} and carries no manifest: ${message}`, codes: emptyCodes(), manifestCount: 0, trustLists: [] };
}

/**
 * Replaces c2pa-rs's hard-binding verdict of a stand-alone manifest store (which it can only hash
 * against the .c2pa bytes themselves) with vigil's re-hash of the asset.
 */
function bindSidecar(asset: Uint8Array, reading: EngineReading, codes: StatusCodes): void {
  const isDataHash = (code: StatusCode): boolean => code.code.startsWith('assertion.dataHash.') && DATA_HASH_ACTIVE.test(code.url ?? '');
  codes.failure = codes.failure.filter((code) => !isDataHash(code));
  codes.success = codes.success.filter((code) => !isDataHash(code));
  const check = dataHashFinding(asset, reading);
  if (check === undefined) {
    codes.failure.push({
      ...statusCode({ code: 'general.error', explanation: 'sidecar hard binding not checked' }, 'failure'),
      finding: 'The sidecar manifest binds its asset with something other than a data hash (e.g. a BMFF hash), which vigil cannot check against a separate asset.',
    });
    return;
  }
  const code = check.match ? 'assertion.dataHash.match' : 'assertion.dataHash.mismatch';
  const kind = check.match ? 'success' : 'failure';
  codes[kind].push({
    ...statusCode({ code, explanation: 'sidecar data hash checked by vigil against the asset' }, kind),
    finding: check.match ? `vigil hashed the asset (${asset.length} bytes) and it matches the sidecar manifest's signed data hash.` : 'vigil hashed the asset and it does not match the sidecar manifest\'s signed data hash: the asset is not the one the sidecar was signed for, or it changed after signing.',
  });
}

/**
 * Verifies a file held in memory (the service calls this on uploads). Never throws for what is
 * wrong with the file's provenance: that is the verdict. Throws VigilInputError only for bytes
 * that are not a format c2pa-rs reads.
 */
export async function verifyBytes(
  bytes: Uint8Array,
  path: string,
  options: VerifyOptions = {},
  sidecar?: { path: string; bytes: Uint8Array },
): Promise<FileVerification> {
  const mime = requireProvenanceFormat(bytes, path);
  const lists = options.trustLists ?? [];
  const signers = signerLists(options);
  const base: BaseVerification = { path, sha256: sha256Hex(bytes), format: mime };
  const settings: EngineSettings = { trust: engineTrust(lists), ...(options.thumbnails === true ? { thumbnailMaxBytes: MAX_THUMBNAIL_BYTES } : {}) };
  const sourceMime: ProvenanceMime = sidecar ? 'application/c2pa' : mime;
  const sourceBytes = sidecar ? sidecar.bytes : bytes;
  let reading: EngineReading;
  let remote: FileVerification['remoteManifest'];
  try {
    // One read against the union of all anchors gives the verdict; per-list reads below say which lists.
    reading = await read(sourceMime, sourceBytes, settings, options);
  } catch (error) {
    const message = errorMessage(error);
    const url = remoteManifestUrl(message);
    if (url === undefined || options.fetchRemote === undefined) return unreadableVerdict(base, bytes, message, options);
    try {
      reading = await read(sourceMime, sourceBytes, settings, options, url);
      remote = { url, fetched: true };
    } catch (fetchError) {
      return unreadableVerdict(base, bytes, `RemoteManifestFetch("${url}"): ${errorMessage(fetchError)}`, options);
    }
  }
  const codes = codesOf(reading);
  if (sidecar) bindSidecar(bytes, reading, codes);
  else explainDataHashMismatch(bytes, reading, codes);
  const trustedBy: string[] = [];
  if (isTrusted(reading)) {
    if (signers.length === 1) trustedBy.push(signers[0].name);
    else {
      // c2pa-rs names only the first list that trusts the signer; each list is asked on its own.
      const others = lists.filter((list) => list.purpose !== 'signer');
      for (const list of signers) {
        const alone: EngineSettings = { trust: engineTrust([list, ...others]) };
        if (isTrusted(await read(sourceMime, sourceBytes, alone, options, remote?.url))) trustedBy.push(list.name);
      }
    }
  }
  const state = sidecar ? stateFromCodes(codes) : (engineState(reading) ?? stateFromCodes(codes));
  const activeManifest = summarizeActiveManifest(reading.store, reading.crJson, codes, trustedBy);
  if (activeManifest && reading.thumbnails) attachThumbnails(activeManifest, reading.store, reading.thumbnails);
  return {
    ...base,
    state,
    codes,
    manifestCount: Object.keys(reading.store.manifests ?? {}).length,
    ...(activeManifest === undefined ? {} : { activeManifest }),
    trustLists: signers.map((list) => ({ name: list.name, trusted: trustedBy.includes(list.name) })),
    disclosure: discloseAi(reading.store),
    ...(remote === undefined ? {} : { remoteManifest: remote }),
    ...(sidecar === undefined ? {} : { sidecar: sidecar.path }),
  };
}

function isFileSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && 'syscall' in error;
}

/** Verifies one file (with its sidecar manifest store, when given); a file that cannot be read or is not supported is recorded, not thrown. */
export async function verifyFile(path: string, options: VerifyOptions = {}, sidecarPath?: string): Promise<FileVerification> {
  try {
    const bytes = await readFile(path);
    if (sidecarPath !== undefined) {
      const embedded = await verifyBytes(bytes, path, options);
      // An embedded manifest takes precedence; the sidecar is for assets that carry none.
      if (embedded.state !== 'NoManifest') return embedded;
      return await verifyBytes(bytes, path, options, { path: sidecarPath, bytes: await readFile(sidecarPath) });
    }
    return await verifyBytes(bytes, path, options);
  } catch (error) {
    if (!(error instanceof VigilInputError) && !isFileSystemError(error)) throw error;
    return { path, error: errorMessage(error), codes: emptyCodes(), manifestCount: 0, trustLists: [] };
  }
}

export function summarizeFiles(files: readonly FileVerification[], skipped: readonly SkippedFile[] = []): ProvenanceSummary {
  const disclosure = Object.fromEntries(DISCLOSURE_LEVELS.map((level) => [level, 0])) as Record<DisclosureLevel, number>;
  for (const file of files) if (file.disclosure) disclosure[file.disclosure.level]++;
  return {
    files: files.length,
    trusted: files.filter((file) => file.state === 'Trusted').length,
    valid: files.filter((file) => file.state === 'Valid').length,
    invalid: files.filter((file) => file.state === 'Invalid').length,
    noManifest: files.filter((file) => file.state === 'NoManifest').length,
    unreadable: files.filter((file) => file.state === 'Unreadable').length,
    errors: files.filter((file) => file.state === undefined).length,
    skipped: skipped.length,
    aiGenerated: files.filter((file) => file.disclosure !== undefined && declaresAi(file.disclosure.level)).length,
    disclosure,
    recovered: files.filter((file) => file.softBinding?.match !== undefined).length,
  };
}

/**
 * Verifies every path into a results document (in the order given). With `concurrency` above 1
 * (an engine pool's size) that many files are read and verified at once, so memory holds at most
 * that many files.
 */
export async function verifyPaths(
  paths: readonly string[],
  options: VerifyOptions & { quiet?: boolean; skipped?: readonly SkippedFile[]; sidecars?: ReadonlyMap<string, string>; concurrency?: number } = {},
): Promise<ProvenanceResults> {
  const progress = createProgress('verify', { quiet: options.quiet, total: paths.length });
  const files: FileVerification[] = new Array<FileVerification>(paths.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < paths.length) {
      const index = next++;
      files[index] = await verifyFile(paths[index], options, options.sidecars?.get(paths[index]));
      progress.increment();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 1, paths.length)) }, lane));
  } finally {
    progress.stop();
  }
  const skipped = [...(options.skipped ?? [])];
  return {
    ...resultEnvelope('provenance'),
    schema: 'vigil/provenance',
    trustLists: (options.trustLists ?? []).map((list) => ({
      name: list.name,
      file: list.file,
      purpose: list.purpose,
      format: list.format,
      anchors: list.anchors.length,
      allowed: list.allowed.length,
      skipped: list.skipped,
    })),
    summary: summarizeFiles(files, skipped),
    files,
    skipped,
  };
}

/** What the screening metadata signal needs from a file's C2PA manifest. */
export interface ProvenanceDigest {
  state: FileVerification['state'];
  /** digitalSourceType URIs declared by the active manifest's actions, verbatim. */
  digitalSourceTypes: string[];
  /** True when the Content Credentials declare AI anywhere in the chain (not for weak cues). */
  aiGenerated: boolean;
  /** The AI disclosure level across the chain. */
  disclosureLevel: DisclosureLevel;
  /** The claim generator string (claim v1), or "name version" of the claim generator info (v2). */
  claimGenerator?: string;
}

/** A file's C2PA digitalSourceType(s), AI disclosure and state from its bytes (no trust lists, no index). */
export async function readProvenance(bytes: Uint8Array, path = '(bytes)'): Promise<ProvenanceDigest> {
  const result = await verifyBytes(bytes, path);
  const manifest = result.activeManifest;
  const info = manifest?.claimGeneratorInfo[0];
  const claimGenerator = manifest?.claimGenerator ?? (info ? [info.name, info.version].filter(Boolean).join(' ') : undefined);
  const level = result.disclosure?.level ?? 'none';
  return {
    state: result.state,
    digitalSourceTypes: (manifest?.digitalSourceTypes ?? []).map((type) => type.uri),
    aiGenerated: declaresAi(level),
    disclosureLevel: level,
    ...(claimGenerator ? { claimGenerator } : {}),
  };
}
