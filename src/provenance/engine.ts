import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import init, { WasmBuilder, WasmReader } from '@contentauth/c2pa-wasm';

/**
 * The C2PA engine: c2pa-rs compiled to WebAssembly. Instantiating the 9 MB module takes tens of
 * milliseconds, so it happens once per process, on first use.
 */

let ready: Promise<void> | undefined;

export function initEngine(): Promise<void> {
  ready ??= (async () => {
    const wasmPath = createRequire(import.meta.url).resolve('@contentauth/c2pa-wasm/c2pa.wasm');
    await init({ module_or_path: await readFile(wasmPath) });
  })();
  return ready;
}

/**
 * One trust list as c2pa-rs takes it (its `trust.anchors` entries): what the list vouches for
 * (claim signers, time-stamp authorities or CAWG identities), a URI that names it in the
 * validation results, CA anchors and end-entity certificates trusted as they are.
 */
export interface EngineTrustList {
  kind: 'manifest' | 'tsa' | 'cawg';
  uri: string;
  /** PEM bundle of CA certificates (may be empty when the list is only an allowed list). */
  anchors: string;
  /** PEM bundle of end-entity certificates. */
  allowed?: string;
}

/** Settings passed to c2pa-rs as its context JSON (the subset vigil sets). */
export interface EngineSettings {
  /** Trust lists; with none, every signer reads back as signingCredential.untrusted. */
  trust?: readonly EngineTrustList[];
  /**
   * Let c2pa-rs fetch a remote manifest through `fetch` (vigil installs a guarded fetch around the
   * read, see remote.ts). Off by default: verification is offline and reproducible.
   */
  remoteManifestFetch?: boolean;
  /**
   * Also return the claim and ingredient thumbnails the store names (`thumbnail.identifier`, a
   * JUMBF URI), each only when at most this many bytes. Read while the reader is open; not a
   * c2pa-rs setting.
   */
  thumbnailMaxBytes?: number;
}

/** The c2pa-rs context JSON of `settings` (what vigil's Reader and Builder are created with). */
export function contextJson(settings: EngineSettings): string {
  const anchors = (settings.trust ?? []).map((list) => ({
    trust_kind: list.kind,
    trust_uri: list.uri,
    trust_anchors: list.anchors,
    ...(list.allowed ? { allowed_list: list.allowed } : {}),
  }));
  // Never fetch OCSP responses, and remote manifests only when asked: verification must be offline and reproducible.
  return JSON.stringify({
    version: 1,
    trust: anchors.length > 0 ? { anchors } : {},
    verify: { remote_manifest_fetch: settings.remoteManifestFetch === true, ocsp_fetch: false, verify_trust: true, verify_timestamp_trust: true },
  });
}

/** What c2pa-rs reports for an asset (its Reader JSON, the crJSON with certificate details, the active label). */
export interface EngineReading {
  store: ManifestStoreJson;
  crJson: CrJson;
  /** Thumbnail bytes by their JUMBF URI, when settings.thumbnailMaxBytes asked for them. Unchecked: sniff before use. */
  thumbnails?: Record<string, Uint8Array>;
}

/** The `thumbnail` reference of a manifest or ingredient in the Reader JSON. */
export interface ResourceRefJson {
  format?: string;
  identifier?: string;
}

/** c2pa-rs's `Reader::json()` shape, the subset vigil reads. Strings are copied verbatim. */
export interface ManifestStoreJson {
  active_manifest?: string;
  manifests: Record<string, ManifestJson>;
  validation_state?: string;
  validation_results?: {
    activeManifest?: StatusBuckets;
    ingredientDeltas?: { ingredientAssertionURI: string; validationDeltas: StatusBuckets }[];
  };
  validation_status?: StatusEntryJson[];
}

export interface StatusEntryJson {
  code: string;
  explanation?: string;
  url?: string;
}

export interface StatusBuckets {
  success?: StatusEntryJson[];
  informational?: StatusEntryJson[];
  failure?: StatusEntryJson[];
}

export interface ManifestJson {
  label?: string;
  title?: string;
  format?: string;
  instance_id?: string;
  claim_generator?: string;
  claim_generator_info?: { name?: string; version?: string; [key: string]: unknown }[];
  claim_version?: number;
  assertions?: { label: string; data?: unknown; kind?: string; instance?: number }[];
  ingredients?: IngredientJson[];
  signature_info?: { alg?: string; issuer?: string; common_name?: string; cert_serial_number?: string; time?: string };
  thumbnail?: ResourceRefJson;
  [key: string]: unknown;
}

export interface IngredientJson {
  title?: string;
  format?: string;
  relationship?: string;
  active_manifest?: string;
  label?: string;
  instance_id?: string;
  document_id?: string;
  validation_status?: StatusEntryJson[];
  validation_results?: { activeManifest?: StatusBuckets };
  thumbnail?: ResourceRefJson;
  [key: string]: unknown;
}

export interface CrJson {
  manifests?: {
    label: string;
    signature?: {
      algorithm?: string;
      certificateInfo?: CertificateInfoJson;
      timeStampInfo?: { timestamp?: string; certificateInfo?: CertificateInfoJson };
    };
  }[];
}

export interface CertificateInfoJson {
  serialNumber?: string;
  issuer?: Record<string, string>;
  subject?: Record<string, string>;
  validity?: { notBefore?: string; notAfter?: string };
}

/** c2pa-rs could not find a manifest at all (as opposed to finding a broken one). */
export function isNoManifestError(message: string): boolean {
  return /JumbfNotFound|ProvenanceMissing|ManifestNotFound/.test(message);
}

/** The URL of a remote (cloud) manifest that c2pa-rs did not fetch, when that is what the error says. */
export function remoteManifestUrl(message: string): string | undefined {
  return /RemoteManifest(?:Url|Fetch)\("([^"]*)"\)/.exec(message)?.[1];
}

/** c2pa-rs errors arrive as strings or Error objects; normalise to a message. */
export function engineErrorMessage(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The claim and ingredient thumbnails a store names, each at most maxBytes; a missing or unreadable one is left out. */
function readThumbnails(reader: WasmReader, store: ManifestStoreJson, maxBytes: number): Record<string, Uint8Array> {
  const uris = new Set<string>();
  for (const manifest of Object.values(store.manifests ?? {})) {
    if (typeof manifest.thumbnail?.identifier === 'string') uris.add(manifest.thumbnail.identifier);
    for (const ingredient of manifest.ingredients ?? []) if (typeof ingredient.thumbnail?.identifier === 'string') uris.add(ingredient.thumbnail.identifier);
  }
  const thumbnails: Record<string, Uint8Array> = {};
  for (const uri of uris) {
    try {
      const bytes = reader.resourceToBytes(uri);
      if (bytes.length <= maxBytes) thumbnails[uri] = bytes;
    } catch {
      // A thumbnail the store names but does not hold (or a remote one) is simply not shown.
    }
  }
  return thumbnails;
}

/** Reads and validates the manifest store of an asset held in memory. Throws c2pa-rs's error text. */
export async function readAsset(mime: string, bytes: Uint8Array, settings: EngineSettings = {}): Promise<EngineReading> {
  await initEngine();
  let reader: WasmReader | undefined;
  try {
    reader = await WasmReader.fromBytes(mime, bytes, contextJson(settings));
    const store = JSON.parse(reader.json()) as ManifestStoreJson;
    const crJson = JSON.parse(reader.crJson()) as CrJson;
    const thumbnails = settings.thumbnailMaxBytes === undefined ? undefined : readThumbnails(reader, store, settings.thumbnailMaxBytes);
    return { store, crJson, ...(thumbnails === undefined ? {} : { thumbnails }) };
  } catch (error) {
    throw new Error(engineErrorMessage(error));
  } finally {
    reader?.free();
  }
}

/**
 * A Blob stand-in over bytes already in memory. c2pa-rs's Builder reads its source through
 * `blob.slice(...)` and `new FileReaderSync().readAsArrayBuffer(slice)`: a browser worker API
 * Node does not have, and Node's own Blob cannot be read synchronously.
 */
class MemoryBlob {
  constructor(private readonly bytes: Uint8Array) {}

  get size(): number {
    return this.bytes.length;
  }

  slice(start = 0, end = this.bytes.length): MemoryBlob {
    return new MemoryBlob(this.bytes.subarray(start, end));
  }

  toArrayBuffer(): ArrayBuffer {
    return this.bytes.slice().buffer;
  }

  /** The asynchronous Blob read, which some wasm paths use instead of FileReaderSync. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.toArrayBuffer();
  }
}

class MemoryFileReaderSync {
  readAsArrayBuffer(blob: MemoryBlob): ArrayBuffer {
    if (!(blob instanceof MemoryBlob)) throw new TypeError('vigil FileReaderSync stand-in reads only its own in-memory blobs');
    return blob.toArrayBuffer();
  }
}

/**
 * Installs the FileReaderSync stand-in only while a signing call is in flight (reference
 * counted for concurrent signs) and removes it afterwards, so the rest of the process never sees
 * a global that claims to be a browser API.
 */
let fileReaderUsers = 0;

async function withFileReaderSync<T>(fn: () => Promise<T>): Promise<T> {
  const scope = globalThis as { FileReaderSync?: unknown };
  const previous = scope.FileReaderSync;
  if (fileReaderUsers++ === 0 && previous === undefined) scope.FileReaderSync = MemoryFileReaderSync;
  try {
    return await fn();
  } finally {
    if (--fileReaderUsers === 0 && scope.FileReaderSync === MemoryFileReaderSync) delete scope.FileReaderSync;
  }
}

export interface BuilderSigner {
  /** c2pa-rs algorithm name (es256, ps256, ed25519, ...). */
  alg: string;
  reserveSize: number;
  /** Returns the complete tagged COSE_Sign1 for the claim bytes, exactly reserveSize long. */
  sign: (claim: Uint8Array) => Promise<Uint8Array>;
}

export interface BuildRequest {
  /** c2patool-style manifest definition JSON. */
  definition: unknown;
  mime: string;
  source: Uint8Array;
  ingredients: { definition: Record<string, unknown>; mime: string; bytes: Uint8Array }[];
  signer: BuilderSigner;
  /** The claim thumbnail (a small JPEG of the signed image) that viewers show. */
  thumbnail?: { mime: string; bytes: Uint8Array };
  settings?: EngineSettings;
  /** Write no manifest into the asset: it goes to a sidecar (.c2pa) or a remote URL. */
  noEmbed?: boolean;
  /** URL where the manifest will be served (a remote/cloud manifest); the asset records it. */
  remoteUrl?: string;
  /** CAWG identity assertions to add (c2pa-wasm's IdentityAssertionDefinition: sigType, reserveSize, referencedAssertions, roles, sign). */
  identityAssertions?: IdentityAssertionRequest[];
}

export interface IdentityAssertionRequest {
  /** e.g. cawg.x509.cose */
  sigType: string;
  reserveSize: number;
  referencedAssertions: string[];
  roles: string[];
  /** Returns the credential's signature (for cawg.x509.cose a COSE_Sign1) over the CAWG signer payload. */
  sign: (payload: unknown) => Promise<Uint8Array>;
}

/** Builds and signs a manifest; returns the asset as written and the manifest store bytes (a .c2pa sidecar). */
export async function buildSignedManifest(request: BuildRequest): Promise<{ asset: Uint8Array; manifest: Uint8Array }> {
  return build(request, true) as Promise<{ asset: Uint8Array; manifest: Uint8Array }>;
}

/** Builds and signs a manifest into the asset; returns the signed asset bytes. Throws c2pa-rs's error text. */
export async function buildSignedAsset(request: BuildRequest): Promise<Uint8Array> {
  return build(request, false) as Promise<Uint8Array>;
}

async function build(request: BuildRequest, withManifest: boolean): Promise<Uint8Array | { asset: Uint8Array; manifest: Uint8Array }> {
  await initEngine();
  return withFileReaderSync(async () => {
    let builder: WasmBuilder | undefined;
    try {
      builder = WasmBuilder.fromJson(JSON.stringify(request.definition), contextJson(request.settings ?? {}));
      if (request.noEmbed) builder.setNoEmbed(true);
      if (request.remoteUrl !== undefined) builder.setRemoteUrl(request.remoteUrl);
      if (request.thumbnail) builder.setThumbnailFromBlob(request.thumbnail.mime, new MemoryBlob(request.thumbnail.bytes) as unknown as Blob);
      for (const ingredient of request.ingredients) {
        await builder.addIngredientFromBlob(
          JSON.stringify(ingredient.definition),
          ingredient.mime,
          new MemoryBlob(ingredient.bytes) as unknown as Blob,
        );
      }
      const signerDefinition = {
        alg: request.signer.alg,
        reserveSize: request.signer.reserveSize,
        sign: async (claim: Uint8Array<ArrayBuffer>) => new Uint8Array(await request.signer.sign(claim)),
      };
      const source = new MemoryBlob(request.source) as unknown as Blob;
      const identities = (request.identityAssertions ?? []).map((identity) => ({ ...identity, sign: async (payload: unknown) => new Uint8Array(await identity.sign(payload)) }));
      if (!withManifest) return await builder.sign(signerDefinition, identities, request.mime, source);
      const result = (await builder.signAndGetManifestBytes(signerDefinition, identities, request.mime, source)) as { asset: Uint8Array; manifest: Uint8Array };
      return { asset: new Uint8Array(result.asset), manifest: new Uint8Array(result.manifest) };
    } catch (error) {
      throw new Error(engineErrorMessage(error));
    } finally {
      builder?.free();
    }
  });
}
