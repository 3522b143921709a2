import exifr from 'exifr';
import { errorMessage } from '../../core/errors.js';
import { describeDigitalSourceType } from '../../provenance/digital-source-types.js';
import { discloseAi, type AiDisclosure, type DisclosureEvidence } from '../../provenance/disclosure.js';
import { isNoManifestError, readAsset } from '../../provenance/engine.js';
import { sniffProvenanceMime } from '../../provenance/formats.js';
import type { SignalMeta, SignalScore } from './types.js';

export const metadataMeta: SignalMeta = {
  id: 'metadata',
  title: 'Metadata and provenance',
  description:
    'Declared provenance and generator fingerprints: the AI disclosure of the whole C2PA manifest chain ' +
    '(declared in the active manifest, edited with AI, an AI-made ingredient, a documented vendor assertion), ' +
    'XMP IPTC DigitalSourceType, PNG text chunks written by ' +
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
  /** Signed or embedded declaration that a trained model made the content (C2PA active manifest, IPTC). */
  | 'declared'
  /**
   * C2PA says generative AI was involved without saying the whole image is AI-made: an AI edit or
   * composite, an ingredient declared AI-generated in its own manifest, or a vendor assertion.
   */
  | 'ai-involved'
  /** A generator left its fingerprint (PNG parameters chunk, Software tag). */
  | 'fingerprint'
  /** Camera make/model present: weak evidence of a capture, easily forged. */
  | 'camera'
  /** Nothing either way. */
  | 'absent';

/** What the file's metadata says (collected from bytes; the input of `scoreMetadata`). */
export interface MetadataFacts {
  format: string;
  /** IPTC DigitalSourceType values in XMP (C2PA source types are in `disclosure`). */
  digitalSourceTypes: { uri: string; term: string; aiGenerated: boolean; source: 'xmp' }[];
  /** AI disclosure across the whole C2PA manifest chain (null: no readable manifest). */
  disclosure: AiDisclosure | null;
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
  /**
   * True when C2PA says AI was involved in part (cue `ai-involved`): the verdict is at least
   * `uncertain`, never `no-evidence`, but not forced to likely-synthetic (the AI part may be small).
   */
  aiInvolved: boolean;
}

/**
 * Fixed strengths of the metadata cues, as P(synthetic). They are priors, not fitted values: the
 * fusion learns how much to trust the metadata signal on the training data; a declaration
 * overrides fusion (see `declared`).
 */
const CUE_SCORES: Record<Exclude<MetadataCueKind, 'ai-involved'>, number> = { declared: 0.99, fingerprint: 0.95, camera: 0.35, absent: 0.55 };

/** Where a disclosure finding sits, for a reader to check it: ingredients walked, then manifest -> assertion -> field. */
function evidencePath(evidence: DisclosureEvidence): string {
  const via = evidence.via.length > 0 ? ` (via ingredient ${evidence.via.map((title) => `"${title}"`).join(' -> ')})` : '';
  return `${evidence.path.join(' / ')}${via}`;
}

/** One finding per disclosure level, in the words a reviewer acts on. */
function disclosureFinding(evidence: DisclosureEvidence): string {
  const where = evidencePath(evidence);
  switch (evidence.level) {
    case 'declared':
      return `C2PA declares AI generation: ${evidence.statement} at ${where}`;
    case 'editedWithAi':
      return `C2PA declares an edit or composite with generative AI (part of the image, not necessarily all of it): ${evidence.statement} at ${where}`;
    case 'containsAiIngredient':
      return `C2PA declares an ingredient AI-generated (an ingredient, not necessarily the whole image): ${evidence.statement} at ${where}`;
    case 'vendorAssertion':
      return `C2PA vendor assertion records generative-AI use (${evidence.value}; not necessarily the whole image): ${evidence.statement} at ${where}`;
    case 'weakCue':
      return `C2PA free text mentions AI (weak cue, not a declaration): "${evidence.value}" at ${where}`;
  }
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

/**
 * Reads the metadata facts of an image (or a video: MP4, MOV, AVI carry C2PA too) held in memory.
 * Unreadable metadata is a fact, not an error.
 */
export async function readMetadataFacts(bytes: Uint8Array): Promise<MetadataFacts> {
  const mime = sniffProvenanceMime(bytes);
  const facts: MetadataFacts = {
    format: mime ?? 'unknown',
    digitalSourceTypes: [],
    disclosure: null,
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
      facts.disclosure = discloseAi(store);
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
  const evidence = facts.disclosure?.evidence ?? [];
  // Strongest first (discloseAi sorts by level): the first finding is the one a verdict cites.
  for (const entry of evidence.filter((e) => e.level === 'declared')) findings.push(disclosureFinding(entry));
  // IPTC composite terms (compositeWithTrainedAlgorithmicMedia, compositeSynthetic) say part of the image is AI-made.
  const xmpAi = facts.digitalSourceTypes.filter((t) => t.aiGenerated);
  const xmpComposite = (t: { term: string }): boolean => t.term.startsWith('composite');
  for (const t of xmpAi.filter((t) => !xmpComposite(t))) findings.push(`XMP digitalSourceType ${t.term}`);
  const declared = findings.length > 0;
  for (const entry of evidence.filter((e) => e.level === 'editedWithAi' || e.level === 'containsAiIngredient' || e.level === 'vendorAssertion')) findings.push(disclosureFinding(entry));
  for (const t of xmpAi.filter(xmpComposite)) findings.push(`XMP digitalSourceType ${t.term} (part of the image is AI-made, not necessarily all of it)`);
  const aiInvolved = !declared && findings.length > 0;
  const beforeFingerprints = findings.length;
  for (const chunk of facts.generatorTextChunks) findings.push(`generator text chunk "${chunk.key}"`);
  if (facts.software !== null && GENERATOR_SOFTWARE.test(facts.software)) findings.push(`Software "${facts.software}" names a generator`);
  const camera = facts.cameraMake !== null || facts.cameraModel !== null;
  // What the rest of the metadata says, without the C2PA AI involvement.
  const fingerprinted = findings.length > beforeFingerprints;
  const base: Exclude<MetadataCueKind, 'declared' | 'ai-involved'> = fingerprinted ? 'fingerprint' : camera ? 'camera' : 'absent';
  const cue: MetadataCueKind = declared ? 'declared' : aiInvolved ? 'ai-involved' : base;
  if (!declared && base === 'camera') findings.push(`camera EXIF ${[facts.cameraMake, facts.cameraModel].filter(Boolean).join(' ')} (weak cue: easily forged)`);
  // A manifest that discloses nothing is still a finding: silence about it would read as "no C2PA".
  if (facts.disclosure !== null && !declared && !aiInvolved) {
    const generator = facts.claimGenerator === null ? '' : ` (claim generator "${facts.claimGenerator}")`;
    findings.push(`C2PA Content Credentials present${generator} and disclose no AI use (this does not show the content is not AI-made; \`vigil provenance verify\` says whether they are valid and trusted)`);
  }
  if (!declared && base === 'absent') findings.push('no generator fingerprint and no camera EXIF (weak cue)');
  // Free text is shown, never counted: "AI" in a description does not declare anything.
  for (const entry of evidence.filter((e) => e.level === 'weakCue')) findings.push(disclosureFinding(entry));
  if (facts.c2paError !== null) findings.push(`C2PA manifest unreadable: ${facts.c2paError}`);
  // AI involvement floors the verdict at uncertain (see `aiInvolved`) but does not raise P(synthetic):
  // an AI edit of a photograph must not become likely-synthetic through the fusion's metadata weight.
  const score = CUE_SCORES[declared ? 'declared' : base];
  return { score, raw: Math.log(score / (1 - score)), cue, findings, declared, aiInvolved };
}
