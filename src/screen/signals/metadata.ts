import exifr from 'exifr';
import { errorMessage } from '../../core/errors.js';
import { describeDigitalSourceType } from '../../provenance/digital-source-types.js';
import { isNoManifestError, readAsset, type ManifestJson } from '../../provenance/engine.js';
import { sniffImageMime } from '../../core/image-format.js';
import type { SignalMeta, SignalScore } from './types.js';

export const metadataMeta: SignalMeta = {
  id: 'metadata',
  title: 'Metadata and provenance',
  description:
    'Declared provenance and generator fingerprints: C2PA digitalSourceType (trainedAlgorithmicMedia, ' +
    'compositeWithTrainedAlgorithmicMedia, ...), XMP IPTC DigitalSourceType, PNG text chunks written by ' +
    'generators (parameters, prompt, workflow, ...), EXIF/XMP Software naming a known generator. Camera EXIF ' +
    '(Make/Model) and its absence are weak cues only: metadata is trivially stripped or forged.',
  requires: 'nothing (reads the file bytes)',
  needs: ['bytes'],
};

/** PNG text keys written by image generators (A1111/Forge, ComfyUI, InvokeAI, NovelAI, Fooocus). */
const GENERATOR_TEXT_KEYS = new Set(['parameters', 'prompt', 'workflow', 'dream', 'sd-metadata', 'invokeai_metadata', 'fooocus_scheme', 'negative_prompt']);
/** Software / CreatorTool names of generators. */
const GENERATOR_SOFTWARE =
  /stable[ -]?diffusion|midjourney|dall[·\- ]?e|firefly|imagen|novelai|comfyui|automatic1111|invokeai|fooocus|dreamstudio|leonardo\.?ai|ideogram|runway|craiyon|nightcafe|gpt-image|flux|bing image creator|generative fill/i;

export type MetadataCueKind =
  /** Signed or embedded declaration that a trained model made the content (C2PA, IPTC). */
  | 'declared'
  /** A generator left its fingerprint (PNG parameters chunk, Software tag). */
  | 'fingerprint'
  /** Camera make/model present: weak evidence of a capture, easily forged. */
  | 'camera'
  /** Nothing either way. */
  | 'absent';

/** What the file's metadata says (collected from bytes; the input of `scoreMetadata`). */
export interface MetadataFacts {
  format: string;
  /** digitalSourceType values in the active C2PA manifest's actions (and IPTC XMP). */
  digitalSourceTypes: { uri: string; term: string; aiGenerated: boolean; source: 'c2pa' | 'xmp' }[];
  /** C2PA claim generator of the active manifest, when there is one. */
  claimGenerator: string | null;
  /** Why C2PA could not be read, when a manifest was present but unreadable. */
  c2paError: string | null;
  /** PNG text chunk keys that generators write, with the first 200 characters of their value. */
  generatorTextChunks: { key: string; value: string }[];
  /** EXIF/XMP Software or CreatorTool. */
  software: string | null;
  cameraMake: string | null;
  cameraModel: string | null;
}

export interface MetadataScore extends SignalScore {
  cue: MetadataCueKind;
  /** Human-readable findings, most decisive first. */
  findings: string[];
  /** True when the file itself declares AI generation (C2PA/IPTC): the verdict is likely-synthetic whatever the pixels say. */
  declared: boolean;
}

/**
 * Fixed strengths of the metadata cues, as P(synthetic). They are priors, not fitted values: the
 * fusion learns how much to trust the metadata signal on the training data; a declaration
 * overrides fusion (see `declared`).
 */
const CUE_SCORES: Record<MetadataCueKind, number> = { declared: 0.99, fingerprint: 0.95, camera: 0.35, absent: 0.55 };

function c2paDigitalSourceTypes(manifest: ManifestJson | undefined): string[] {
  const found: string[] = [];
  for (const assertion of manifest?.assertions ?? []) {
    if (!assertion.label.startsWith('c2pa.actions')) continue;
    const actions = (assertion.data as { actions?: { digitalSourceType?: unknown }[] } | undefined)?.actions ?? [];
    for (const action of actions) if (typeof action.digitalSourceType === 'string') found.push(action.digitalSourceType);
  }
  return found;
}

/** Cheap pre-check: C2PA manifests live in JUMBF boxes labelled "c2pa"; most files have none. */
function mayHoldC2pa(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).includes('c2pa', 0, 'latin1');
}

function text(value: unknown): string | null {
  if (typeof value === 'string' && value.trim().length > 0) return value.trim();
  if (Array.isArray(value)) return text(value[0]);
  if (value && typeof value === 'object' && 'value' in value) return text((value as { value: unknown }).value);
  return null;
}

/** Reads the metadata facts of an image held in memory. Unreadable metadata is a fact, not an error. */
export async function readMetadataFacts(bytes: Uint8Array): Promise<MetadataFacts> {
  const mime = sniffImageMime(bytes);
  const facts: MetadataFacts = {
    format: mime ?? 'unknown',
    digitalSourceTypes: [],
    claimGenerator: null,
    c2paError: null,
    generatorTextChunks: [],
    software: null,
    cameraMake: null,
    cameraModel: null,
  };
  if (mime !== undefined && mayHoldC2pa(bytes)) {
    try {
      const { store } = await readAsset(mime, bytes);
      const active = store.active_manifest === undefined ? undefined : store.manifests[store.active_manifest];
      facts.claimGenerator = active?.claim_generator ?? active?.claim_generator_info?.[0]?.name ?? null;
      for (const uri of c2paDigitalSourceTypes(active)) facts.digitalSourceTypes.push({ ...describeDigitalSourceType(uri), source: 'c2pa' });
    } catch (error) {
      const message = errorMessage(error);
      if (!isNoManifestError(message)) facts.c2paError = message;
    }
  }
  let tags: Record<string, unknown> | undefined;
  try {
    tags = (await exifr.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), {
      tiff: true,
      ifd0: {},
      exif: false,
      gps: false,
      xmp: true,
      iptc: false,
      icc: false,
      ihdr: true,
      mergeOutput: true,
    })) as Record<string, unknown> | undefined;
  } catch {
    tags = undefined; // no or malformed EXIF/XMP: nothing to report
  }
  for (const [key, value] of Object.entries(tags ?? {})) {
    const lower = key.toLowerCase();
    if (GENERATOR_TEXT_KEYS.has(lower) && text(value) !== null) facts.generatorTextChunks.push({ key, value: text(value)!.slice(0, 200) });
    if (lower === 'digitalsourcetype') {
      const uri = text(value);
      if (uri !== null) facts.digitalSourceTypes.push({ ...describeDigitalSourceType(uri), source: 'xmp' });
    }
  }
  // Manifests often repeat the type across actions (created, then edited); report each once.
  facts.digitalSourceTypes = facts.digitalSourceTypes.filter(
    (t, i, all) => all.findIndex((u) => u.uri === t.uri && u.source === t.source) === i,
  );
  facts.software = text(tags?.Software) ?? text(tags?.CreatorTool);
  facts.cameraMake = text(tags?.Make);
  facts.cameraModel = text(tags?.Model);
  return facts;
}

/** Metadata score (pure): the strongest cue found decides. raw = the cue's log-odds. */
export function scoreMetadata(facts: MetadataFacts): MetadataScore {
  const findings: string[] = [];
  const aiTypes = facts.digitalSourceTypes.filter((t) => t.aiGenerated);
  for (const t of aiTypes) findings.push(`${t.source === 'c2pa' ? 'C2PA' : 'XMP'} digitalSourceType ${t.term}`);
  for (const chunk of facts.generatorTextChunks) findings.push(`generator text chunk "${chunk.key}"`);
  if (facts.software !== null && GENERATOR_SOFTWARE.test(facts.software)) findings.push(`Software "${facts.software}" names a generator`);
  const camera = facts.cameraMake !== null || facts.cameraModel !== null;
  let cue: MetadataCueKind;
  if (aiTypes.length > 0) cue = 'declared';
  else if (findings.length > 0) cue = 'fingerprint';
  else if (camera) cue = 'camera';
  else cue = 'absent';
  if (cue === 'camera') findings.push(`camera EXIF ${[facts.cameraMake, facts.cameraModel].filter(Boolean).join(' ')} (weak cue: easily forged)`);
  if (cue === 'absent') findings.push('no generator fingerprint and no camera EXIF (weak cue)');
  if (facts.c2paError !== null) findings.push(`C2PA manifest unreadable: ${facts.c2paError}`);
  const score = CUE_SCORES[cue];
  return { score, raw: Math.log(score / (1 - score)), cue, findings, declared: cue === 'declared' };
}
