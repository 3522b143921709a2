import { readFile, rm } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import sharp from 'sharp';
import { errorMessage, invalidArgument, VigilInputError } from '../core/errors.js';
import { MAX_CONFIG_BYTES, readInputFile, sha256Hex, writeFileAtomic } from '../core/files.js';
import { VIGIL_VERSION } from '../core/version.js';
import { coseSign1, coseSign1Timestamped, reserveSizeFor, TIMESTAMP_RESERVE, type CoseSigner, type TimestampProvider } from './cose.js';
import { digitalSourceTypeUri, isDigitalSourceTypeTerm } from './digital-source-types.js';
import { buildSignedAsset, buildSignedManifest, isNoManifestError, readAsset, remoteManifestUrl, type EngineReading } from './engine.js';
import { dataHashOf, rehashDataHash } from './hard-binding.js';
import { sidecarPathFor } from './walk.js';
import type { ClipFingerprinter } from './fingerprint.js';
import { isRasterImage, requireProvenanceFormat, type ProvenanceMime } from './formats.js';
import { fingerprintImage, type ProvenanceIndex } from './soft-binding.js';

/**
 * `vigil provenance sign`: embeds a C2PA manifest declaring how the image was made (by default:
 * created by a generative model) and signs it. The signed output is read back and validated
 * before the command reports success; a failed check deletes the output.
 */

export interface SignOptions {
  input: string;
  /** Output path; equal to input only with inPlace. */
  output: string;
  inPlace?: boolean;
  signer: CoseSigner;
  /** "name version" of the generating software (softwareAgent and claim generator). */
  generator?: string;
  /** The image this one was edited from (relationship parentOf). */
  parent?: string;
  /** Images composited into this one (relationship componentOf). */
  ingredients?: readonly string[];
  /** IPTC digitalSourceType term overriding the default. */
  sourceType?: string;
  /** Files of custom assertions: {"label": ..., "data": ...} or an array of them. */
  assertionFiles?: readonly string[];
  /** c2patool manifest definition file. */
  manifestFile?: string;
  title?: string;
  /** Embed a claim thumbnail (default true), as c2patool does. */
  thumbnail?: boolean;
  /** Sign over an Invalid parent or ingredient (recorded as a warning). */
  allowInvalidParent?: boolean;
  /** RFC 3161 time-stamp authority for the signature (--tsa). */
  timestamp?: TimestampProvider;
  /** Write the manifest to <output name>.c2pa next to the output (a sidecar) instead of embedding it. */
  sidecar?: boolean;
  /** Records the signed image for soft-binding recovery. */
  index?: ProvenanceIndex;
  clip?: ClipFingerprinter;
}

export interface SignResult {
  input: string;
  output: string;
  format: ProvenanceMime;
  sha256: string;
  manifestLabel: string;
  algorithm: string;
  signer: string;
  actions: { action: string; digitalSourceType?: string }[];
  /** True when the input already carried Content Credentials and became the parent ingredient. */
  parentFromInput: boolean;
  /** State the read-back verification found (Valid: signer not on a trust list; Trusted otherwise). */
  state: string;
  /** Whether the signature carries an RFC 3161 time-stamp. */
  timestamped: boolean;
  /** The sidecar manifest store written (--sidecar). */
  sidecar?: string;
  /** What the user should know: an Invalid parent signed over, a remote parent manifest, no thumbnail for this format. */
  warnings: string[];
  /** Record id in the provenance index, when one was used. */
  indexRecordId?: string;
  indexPath?: string;
}

interface AssertionDefinition {
  label: string;
  data: unknown;
  kind?: string;
}

/** Labels vigil and c2pa-rs write themselves; user assertions may not use them. */
const RESERVED_ASSERTION_PREFIXES = ['c2pa.hash.', 'c2pa.signature', 'c2pa.thumbnail', 'c2pa.ingredient'];

async function readJson(path: string, option: string): Promise<unknown> {
  const text = (await readInputFile(path, { what: option, maxBytes: MAX_CONFIG_BYTES })).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new VigilInputError(`${option} ${path}: not valid JSON (${errorMessage(error)})`, { subject: path });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkAssertion(value: unknown, where: string): AssertionDefinition {
  if (!isObject(value) || typeof value.label !== 'string' || value.label.length === 0 || !('data' in value)) {
    throw new VigilInputError(`${where}: expected {"label": "...", "data": ...} but received ${JSON.stringify(value)?.slice(0, 80)}`, { subject: where });
  }
  if (RESERVED_ASSERTION_PREFIXES.some((prefix) => (value.label as string).startsWith(prefix))) {
    throw new VigilInputError(`${where}: assertion label ${value.label} is written by the signer itself and cannot be supplied`, { subject: where });
  }
  return { label: value.label, data: value.data, ...(typeof value.kind === 'string' ? { kind: value.kind } : {}) };
}

async function loadAssertionFile(path: string): Promise<AssertionDefinition[]> {
  const json = await readJson(path, '--assertion');
  const items = Array.isArray(json) ? json : [json];
  return items.map((item, index) => checkAssertion(item, `--assertion ${path}${Array.isArray(json) ? `[${index}]` : ''}`));
}

/** "name version" -> claim generator info; the last space-separated word is the version when it starts with a digit. */
export function parseGenerator(value: string): { name: string; version?: string } {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw invalidArgument('--generator', 'a non-empty "name version" string', value);
  const match = /^(.*\S)\s+(v?\d[^\s]*)$/.exec(trimmed);
  return match ? { name: match[1], version: match[2] } : { name: trimmed };
}

/** c2patool manifest-definition fields vigil accepts; signer fields are refused so credentials come from one place. */
const MANIFEST_FIELDS = new Set(['claim_generator', 'claim_generator_info', 'title', 'format', 'instance_id', 'assertions', 'ingredients', 'ingredient_paths', 'label', 'vendor', 'claim_version', 'metadata']);
const SIGNER_FIELDS = new Set(['alg', 'private_key', 'sign_cert', 'ta_url']);

async function loadManifestDefinition(path: string): Promise<{ definition: Record<string, unknown>; ingredientPaths: string[] }> {
  const json = await readJson(path, '--manifest');
  if (!isObject(json)) throw new VigilInputError(`--manifest ${path}: expected a JSON object (c2patool manifest definition)`, { subject: path });
  const definition: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (SIGNER_FIELDS.has(key)) {
      throw new VigilInputError(
        `--manifest ${path}: field "${key}" configures the signer; vigil takes credentials only from --cert/--key/--alg and signs without a time-stamp authority`,
        { subject: path },
      );
    }
    if (!MANIFEST_FIELDS.has(key)) throw new VigilInputError(`--manifest ${path}: unknown field "${key}" (accepted: ${[...MANIFEST_FIELDS].join(', ')})`, { subject: path });
    definition[key] = value;
  }
  if (definition.assertions !== undefined) {
    if (!Array.isArray(definition.assertions)) throw new VigilInputError(`--manifest ${path}: "assertions" must be an array`, { subject: path });
    definition.assertions = definition.assertions.map((assertion, index) =>
      isObject(assertion) && typeof assertion.label === 'string' && assertion.label.startsWith('c2pa.actions')
        ? assertion
        : checkAssertion(assertion, `--manifest ${path} assertions[${index}]`),
    );
  }
  const rawPaths = definition.ingredient_paths ?? [];
  delete definition.ingredient_paths;
  if (!Array.isArray(rawPaths) || rawPaths.some((entry) => typeof entry !== 'string')) {
    throw new VigilInputError(`--manifest ${path}: "ingredient_paths" must be an array of file paths`, { subject: path });
  }
  // c2patool resolves ingredient paths relative to the manifest file.
  return { definition, ingredientPaths: (rawPaths as string[]).map((entry) => resolve(dirname(path), entry)) };
}

interface IngredientFile {
  path: string;
  bytes: Uint8Array;
  mime: ProvenanceMime;
  relationship: 'parentOf' | 'componentOf';
  label: string;
  /** The ingredient's own provenance: its state, and the URL of a remote (cloud) manifest. */
  provenance?: IngredientProvenance;
}

interface IngredientProvenance {
  state: 'Trusted' | 'Valid' | 'Invalid' | 'NoManifest' | 'Unreadable';
  failures: string[];
  remoteUrl?: string;
}

async function loadIngredient(path: string, relationship: IngredientFile['relationship'], label: string, option: string): Promise<IngredientFile> {
  const bytes = await readInputFile(path, { what: option });
  return { path, bytes, mime: requireProvenanceFormat(bytes, `${option} ${path}`), relationship, label };
}

/**
 * The actions vigil writes when the user gives none. The digital source type is what the user
 * declares with --source-type. Without one: a new asset (no ingredients) is declared as created
 * by a generative model (what `sign` is for); an edit of a parent declares no source type (an
 * edit is never called AI unless the user says so); a composite of components declares
 * `composite`.
 */
export function defaultActions(
  ingredients: readonly Pick<IngredientFile, 'relationship' | 'label'>[],
  agent: { name: string; version?: string },
  sourceType: string | undefined,
): Record<string, unknown>[] {
  const parent = ingredients.find((ingredient) => ingredient.relationship === 'parentOf');
  const components = ingredients.filter((ingredient) => ingredient.relationship === 'componentOf');
  const placed = components.map((component) => ({ action: 'c2pa.placed', softwareAgent: agent, parameters: { ingredientIds: [component.label] } }));
  if (parent) {
    return [
      { action: 'c2pa.opened', softwareAgent: agent, parameters: { ingredientIds: [parent.label] } },
      { action: 'c2pa.edited', softwareAgent: agent, ...(sourceType === undefined ? {} : { digitalSourceType: digitalSourceTypeUri(sourceType) }) },
      ...placed,
    ];
  }
  const created = digitalSourceTypeUri(sourceType ?? (components.length === 0 ? 'trainedAlgorithmicMedia' : 'composite'));
  return [{ action: 'c2pa.created', softwareAgent: agent, digitalSourceType: created }, ...placed];
}

/** The provenance of an ingredient (or of the input): whether it has a manifest, its state, a remote manifest URL. */
async function ingredientProvenance(mime: ProvenanceMime, bytes: Uint8Array): Promise<IngredientProvenance> {
  try {
    const reading = await readAsset(mime, bytes);
    const failures = (reading.store.validation_results?.activeManifest?.failure ?? []).map((entry) => entry.code).filter((code) => code !== 'signingCredential.untrusted');
    const state = reading.store.validation_state;
    return { state: state === 'Invalid' || failures.length > 0 ? 'Invalid' : state === 'Trusted' ? 'Trusted' : 'Valid', failures };
  } catch (error) {
    const message = errorMessage(error);
    const remoteUrl = remoteManifestUrl(message);
    if (remoteUrl !== undefined) return { state: 'Unreadable', failures: [], remoteUrl };
    if (isNoManifestError(message)) return { state: 'NoManifest', failures: [] };
    return { state: 'Invalid', failures: [`unreadable manifest: ${message}`] };
  }
}

/**
 * Signing over an Invalid parent passes its broken provenance on: refused unless
 * --allow-invalid-parent, and then recorded as a warning (the ingredient keeps its failure codes).
 */
function checkParent(ingredient: IngredientFile, allowInvalid: boolean, warnings: string[]): void {
  const provenance = ingredient.provenance;
  if (provenance?.state === 'Invalid') {
    const what = `${ingredient.relationship === 'parentOf' ? 'parent' : 'ingredient'} ${ingredient.path} has Invalid Content Credentials (${provenance.failures.join(', ')})`;
    if (!allowInvalid) throw new VigilInputError(`${what}; signing over it passes broken provenance on; pass --allow-invalid-parent to sign anyway`, { subject: ingredient.path });
    warnings.push(`${what}; signed anyway (--allow-invalid-parent), the ingredient records its failures`);
  }
  if (provenance?.remoteUrl !== undefined) {
    warnings.push(`${ingredient.path} has only a remote (cloud) manifest at ${provenance.remoteUrl}; the ingredient keeps that reference (not fetched)`);
  }
}

/** The manifest definition vigil signs: the user's (c2patool format) plus vigil's defaults where absent. */
async function buildDefinition(
  options: SignOptions,
  input: { path: string; mime: ProvenanceMime; bytes: Uint8Array },
): Promise<{ definition: Record<string, unknown>; ingredients: IngredientFile[]; parentFromInput: boolean; warnings: string[] }> {
  const fromFile = options.manifestFile ? await loadManifestDefinition(options.manifestFile) : { definition: {}, ingredientPaths: [] };
  const definition = fromFile.definition;
  const ingredients: IngredientFile[] = [];
  // Signing over existing Content Credentials would erase the image's history: like c2patool,
  // an input that already carries a manifest becomes the parent ingredient unless --parent says otherwise.
  const inputProvenance = options.parent === undefined ? await ingredientProvenance(input.mime, input.bytes) : undefined;
  const parentFromInput = inputProvenance !== undefined && inputProvenance.state !== 'NoManifest';
  if (options.parent) ingredients.push(await loadIngredient(options.parent, 'parentOf', 'parent', '--parent'));
  if (parentFromInput) ingredients.push({ path: input.path, bytes: input.bytes, mime: input.mime, relationship: 'parentOf', label: 'parent', provenance: inputProvenance });
  for (const [index, path] of [...(options.ingredients ?? []), ...fromFile.ingredientPaths].entries()) {
    ingredients.push(await loadIngredient(path, 'componentOf', `ingredient-${index + 1}`, '--ingredient'));
  }
  const warnings: string[] = [];
  for (const ingredient of ingredients) {
    ingredient.provenance ??= await ingredientProvenance(ingredient.mime, ingredient.bytes);
    checkParent(ingredient, options.allowInvalidParent === true, warnings);
  }
  if (options.sourceType !== undefined && !isDigitalSourceTypeTerm(options.sourceType)) {
    throw invalidArgument('--source-type', 'an IPTC digital source type term such as trainedAlgorithmicMedia', options.sourceType);
  }
  const vigilInfo = { name: 'vigil', version: VIGIL_VERSION };
  const agent = options.generator ? parseGenerator(options.generator) : vigilInfo;
  const existingInfo = Array.isArray(definition.claim_generator_info) ? (definition.claim_generator_info as unknown[]) : [];
  // C2PA 2.x claims allow exactly one claim_generator_info entry.
  definition.claim_generator_info = options.generator ? [agent] : existingInfo.length > 0 ? existingInfo.slice(0, 1) : [vigilInfo];
  delete definition.claim_generator;
  definition.title = options.title ?? (typeof definition.title === 'string' ? definition.title : basename(options.output));
  definition.format = input.mime;
  const assertions = Array.isArray(definition.assertions) ? [...(definition.assertions as AssertionDefinition[])] : [];
  for (const file of options.assertionFiles ?? []) assertions.push(...(await loadAssertionFile(file)));
  if (!assertions.some((assertion) => assertion.label.startsWith('c2pa.actions'))) {
    assertions.unshift({ label: 'c2pa.actions', data: { actions: defaultActions(ingredients, agent, options.sourceType) } });
  }
  definition.assertions = assertions;
  return { definition, ingredients, parentFromInput, warnings };
}

/** Long edge of the claim thumbnail, as c2pa-rs's default thumbnail settings. */
const THUMBNAIL_EDGE = 512;

/** The claim thumbnail, or a warning when sharp cannot decode the image (HEIC needs an HEVC-enabled libvips). */
async function claimThumbnail(source: Uint8Array, warnings: string[]): Promise<Uint8Array | undefined> {
  try {
    return await sharp(source)
      .rotate()
      .resize(THUMBNAIL_EDGE, THUMBNAIL_EDGE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 75 })
      .toBuffer();
  } catch (error) {
    warnings.push(`no claim thumbnail: the image cannot be decoded to make one (${errorMessage(error)})`);
    return undefined;
  }
}

/**
 * c2pa-rs validates what it signed and, when that fails, reports its whole validation result as a
 * Rust debug dump; the failure codes are what a user needs from it.
 */
function signingFailure(message: string): string {
  const failureSection = /InvalidManifest\(ValidationResults[\s\S]*?failure: \[([\s\S]*?)\] \}/.exec(message)?.[1];
  if (failureSection === undefined) return message;
  const codes = [...failureSection.matchAll(/code: "([^"]+)"/g)].map((match) => match[1]).filter((code) => code !== 'signingCredential.untrusted');
  return `c2pa-rs rejected the signed manifest: ${[...new Set(codes)].join(', ') || 'validation failed'}`;
}

/** Reads signed bytes back through c2pa-rs; anything but an untrusted signer is a failure. */
async function validateSigned(mime: ProvenanceMime, bytes: Uint8Array, subject: string, ignore: (code: string) => boolean = () => false): Promise<EngineReading> {
  let reading: EngineReading;
  try {
    reading = await readAsset(mime, bytes);
  } catch (error) {
    throw new VigilInputError(`${subject}: the signed image cannot be read back (${errorMessage(error)})`, { subject });
  }
  const failures = (reading.store.validation_results?.activeManifest?.failure ?? []).filter((entry) => entry.code !== 'signingCredential.untrusted' && !ignore(entry.code));
  if (failures.length > 0) {
    throw new VigilInputError(`${subject}: read-back validation failed: ${failures.map((entry) => entry.code).join(', ')}`, { subject });
  }
  return reading;
}

/**
 * Validates a sidecar manifest store: c2pa-rs checks everything but the hard binding (it can only
 * hash the .c2pa itself), vigil re-hashes the asset over the data hash's declared range.
 */
async function validateSidecar(asset: Uint8Array, manifest: Uint8Array, subject: string): Promise<EngineReading> {
  const reading = await validateSigned('application/c2pa', manifest, subject, (code) => code.startsWith('assertion.dataHash.') || code.startsWith('assertion.bmffHash.'));
  const label = reading.store.active_manifest;
  const assertion = label === undefined ? undefined : dataHashOf(reading.crJson, label);
  if (assertion === undefined) {
    throw new VigilInputError(`${subject}: a sidecar needs a data-hash binding; this format is bound by a BMFF hash, so sign it embedded (without --sidecar)`, { subject });
  }
  if (!rehashDataHash(asset, assertion)?.match) throw new VigilInputError(`${subject}: read-back validation failed: the sidecar's data hash does not match the asset`, { subject });
  return reading;
}

/** Signs an image; writes the output atomically, reads it back and verifies it, records it in the index. */
export async function signImage(options: SignOptions): Promise<SignResult> {
  const input = resolve(options.input);
  const output = resolve(options.output);
  if (input === output && !options.inPlace) {
    throw new VigilInputError(`--out ${options.output} is the input file; pass --in-place to overwrite the input`, { subject: '--out' });
  }
  const source: Uint8Array = await readInputFile(options.input, { what: 'the file to sign' });
  const mime = requireProvenanceFormat(source, options.input);
  const { definition, ingredients, parentFromInput, warnings } = await buildDefinition(options, { path: input, mime, bytes: source });
  const reserveSize = reserveSizeFor(options.signer) + (options.timestamp ? TIMESTAMP_RESERVE : 0);
  // Thumbnails and soft-binding fingerprints need decoded pixels: raster images only.
  const raster = isRasterImage(mime);
  if (!raster && options.thumbnail !== false) warnings.push(`no claim thumbnail: vigil makes thumbnails of raster images only, not ${mime}`);
  if (!raster && options.index) warnings.push(`not recorded in the soft-binding index: fingerprints are computed on raster images only, not ${mime}`);
  const thumbnail = options.thumbnail === false || !raster ? undefined : await claimThumbnail(source, warnings);
  const fingerprint = options.index && raster ? await fingerprintImage(source, options.input, options.clip) : undefined;
  let signed: Uint8Array;
  let sidecarManifest: Uint8Array | undefined;
  try {
    const build = options.sidecar ? buildSignedManifest : buildSignedAsset;
    const built = await build({
      ...(options.sidecar ? { noEmbed: true } : {}),
      definition,
      mime,
      source,
      ingredients: ingredients.map((ingredient) => ({
        definition: {
          title: basename(ingredient.path),
          relationship: ingredient.relationship,
          label: ingredient.label,
          // A cloud-only ingredient keeps the URL of its remote manifest (the ingredient's provenance field).
          ...(ingredient.provenance?.remoteUrl === undefined ? {} : { provenance: ingredient.provenance.remoteUrl }),
        },
        mime: ingredient.mime,
        bytes: ingredient.bytes,
      })),
      ...(thumbnail === undefined ? {} : { thumbnail: { mime: 'image/jpeg', bytes: thumbnail } }),
      signer: {
        alg: options.signer.algorithm,
        reserveSize,
        sign: async (claim) =>
          options.timestamp ? coseSign1Timestamped(options.signer, claim, reserveSize, options.timestamp) : coseSign1(options.signer, claim, reserveSize),
      },
    });
    if (built instanceof Uint8Array) signed = built;
    else ({ asset: signed, manifest: sidecarManifest } = built);
  } catch (error) {
    throw new VigilInputError(`${options.input}: signing failed: ${signingFailure(errorMessage(error))}`, { subject: options.input });
  }
  // Validated in memory first, so a bad signature never replaces anything (--in-place included)...
  const reading = sidecarManifest ? await validateSidecar(signed, sidecarManifest, options.output) : await validateSigned(mime, signed, options.output);
  const sidecarPath = sidecarManifest ? sidecarPathFor(output) : undefined;
  if (sidecarManifest && sidecarPath) await writeFileAtomic(sidecarPath, sidecarManifest);
  await writeFileAtomic(output, signed);
  // ...then what actually landed on disk is read back: the same bytes as validated, or it is undone.
  // (Comparing bytes instead of validating a second time halves the cost of signing.)
  const written = await readFile(output).catch(() => undefined);
  if (written === undefined || !Buffer.from(signed).equals(written)) {
    if (options.inPlace) await writeFileAtomic(output, source);
    else await rm(output, { force: true });
    throw new VigilInputError(
      `${options.output}: the file on disk differs from the signed bytes that were validated; ${options.inPlace ? 'the original input was restored' : 'the output was deleted'}`,
      { subject: options.output },
    );
  }
  const manifest = reading.store.active_manifest ? reading.store.manifests[reading.store.active_manifest] : undefined;
  const actions = (manifest?.assertions ?? [])
    .filter((assertion) => assertion.label.startsWith('c2pa.actions'))
    .flatMap((assertion) => ((assertion.data as { actions?: Record<string, unknown>[] }).actions ?? []))
    .map((action) => ({
      action: String(action.action),
      ...(typeof action.digitalSourceType === 'string' ? { digitalSourceType: action.digitalSourceType } : {}),
    }));
  const sha256 = sha256Hex(signed);
  const indexRecordId = options.index && fingerprint ? options.index.record({ signedPath: output, sha256, format: mime, reading, fingerprint }) : undefined;
  return {
    input,
    output,
    format: mime,
    sha256,
    manifestLabel: reading.store.active_manifest ?? '',
    algorithm: options.signer.algorithm,
    signer: options.signer.chain[0].subject.replace(/\n/g, ', '),
    actions,
    parentFromInput,
    state: reading.store.validation_state ?? 'Valid',
    timestamped: options.timestamp !== undefined,
    ...(sidecarPath === undefined ? {} : { sidecar: sidecarPath }),
    warnings,
    ...(indexRecordId === undefined ? {} : { indexRecordId, indexPath: options.index?.path }),
  };
}
