import type { ResultEnvelope } from '../core/results.js';
import type { DigitalSourceTypeInfo } from './digital-source-types.js';
import type { AiDisclosure, DisclosureLevel } from './disclosure.js';
import type { TrustPurpose } from './trust.js';

/**
 * The results document of `vigil provenance verify` (schema `vigil/provenance`). Reports render
 * from this alone. Every string copied from a manifest (titles, claim generators, assertion data,
 * c2pa-rs explanations) is verbatim: renderers must escape it.
 */

/**
 * Trusted: valid and the signer chains to a configured trust anchor.
 * Valid: no failure except that the signer is not on any configured trust list.
 * Invalid: at least one other failure code (tampering, bad signature, broken ingredient, ...).
 * NoManifest: no C2PA manifest in the file (not an error: most images have none).
 * Unreadable: the file cannot be parsed as its format and no manifest was found in it: nothing
 *   can be said about its provenance (a truncated download is not evidence of tampering).
 */
export type ProvenanceState = 'Trusted' | 'Valid' | 'Invalid' | 'NoManifest' | 'Unreadable';

export type StatusKind = 'success' | 'informational' | 'failure';

export interface StatusCode {
  /** The C2PA status code, verbatim (e.g. `assertion.dataHash.mismatch`). */
  code: string;
  kind: StatusKind;
  /** vigil's plain-language explanation. */
  explanation: string;
  /** False when vigil has no explanation of its own for this code (then read validatorExplanation). */
  known: boolean;
  /** c2pa-rs's own explanation, verbatim. */
  validatorExplanation?: string;
  /** JUMBF URI of the manifest part the code is about. */
  url?: string;
  /**
   * What vigil determined about this file when one code covers several causes (e.g. it re-hashed
   * the declared range of a data hash, or compared the certificate's expiry with the signing time).
   */
  finding?: string;
}

export interface StatusCodes {
  failure: StatusCode[];
  informational: StatusCode[];
  success: StatusCode[];
}

export interface CertificateSummary {
  /** Subject common name (or the full subject when there is no CN). */
  subject: string;
  /** Subject attributes as c2pa-rs reports them (C, O, OU, CN, ...). */
  subjectFields: Record<string, string>;
  issuer: string;
  issuerFields: Record<string, string>;
  serialNumber?: string;
  notBefore?: string;
  notAfter?: string;
}

export interface SignerSummary extends CertificateSummary {
  /** Signature algorithm (es256, ps256, ed25519, ...). */
  algorithm?: string;
  /** Names of the configured trust lists the signer chains to (empty: none). */
  trustedBy: string[];
  /** Whether the certificate was valid when signed and whether it has expired since, in words. */
  validity?: string;
}

/**
 * trusted: RFC 3161 time-stamp by a trusted authority; validated: time-stamp matches but the
 * authority is not trusted or unknown; untrusted/mismatch/malformed/outsideValidity: the c2pa-rs
 * timeStamp.* code; none: no time-stamp (the signing time is only the signer's own claim).
 */
export type TimestampStatus = 'trusted' | 'validated' | 'untrusted' | 'mismatch' | 'malformed' | 'outsideValidity' | 'none';

export interface TimestampSummary {
  status: TimestampStatus;
  /** The time the time-stamp authority attests. */
  time?: string;
  authority?: CertificateSummary;
  /** Why the status is what it is when c2pa-rs's code alone would mislead (legacy v1 time-stamps). */
  note?: string;
}

export interface ActionSummary {
  /** e.g. c2pa.created, c2pa.opened, c2pa.edited. */
  action: string;
  when?: string;
  softwareAgent?: string;
  digitalSourceType?: DigitalSourceTypeInfo;
  /** The action's parameters verbatim. */
  parameters?: unknown;
}

export interface AssertionSummary {
  label: string;
  kind?: string;
  /** Assertion data verbatim (absent for binary assertions such as thumbnails). */
  data?: unknown;
}

/**
 * A thumbnail the manifest store carries (claim or ingredient thumbnail), inline, only when verify
 * was asked for them (--thumbnails). Its bytes were sniffed as JPEG or PNG when read; a report
 * sniffs and re-encodes them again, since a results document can come from anywhere.
 */
export interface EmbeddedThumbnail {
  mime: 'image/jpeg' | 'image/png';
  /** The thumbnail's bytes, base64. */
  base64: string;
  bytes: number;
}

export interface ManifestSummary {
  label: string;
  /** The claim thumbnail (what the asset looked like when signed), with --thumbnails. */
  thumbnail?: EmbeddedThumbnail;
  title?: string;
  format?: string;
  instanceId?: string;
  claimGenerator?: string;
  claimGeneratorInfo: { name?: string; version?: string }[];
  claimVersion?: number;
  signer?: SignerSummary;
  /** Time of signing as recorded in the signature (attested only when timestamp.status is trusted). */
  signingTime?: string;
  timestamp: TimestampSummary;
  actions: ActionSummary[];
  /** Distinct digitalSourceTypes of the actions. */
  digitalSourceTypes: DigitalSourceTypeInfo[];
  /** True when any action declares an AI-generated digitalSourceType. */
  aiGenerated: boolean;
  assertions: AssertionSummary[];
  ingredients: IngredientNode[];
}

export interface IngredientNode {
  title?: string;
  format?: string;
  /** parentOf, componentOf or inputTo. */
  relationship?: string;
  instanceId?: string;
  /** The ingredient's own validation state: NoManifest when it carries no provenance. */
  state: ProvenanceState;
  /** The ingredient's own status codes plus the deltas the parent's validation found for it. */
  codes: StatusCodes;
  /** The ingredient's manifest (recursive), when it has one in this store. */
  manifest?: ManifestSummary;
  /** The ingredient thumbnail the parent's manifest holds, with --thumbnails. */
  thumbnail?: EmbeddedThumbnail;
}

export interface TrustListSummary {
  name: string;
  /** The PEM or JSON file the certificates came from. */
  file: string;
  /** Absent in older results (then: signer, PEM). */
  purpose?: TrustPurpose;
  format?: 'pem' | 'json';
  /** CA certificates (trust anchors). */
  anchors: number;
  /** End-entity certificates trusted as they are (allowed list). */
  allowed?: number;
  /** Entries of a JSON list that could not be used, with why. */
  skipped?: string[];
}

export interface SoftBindingMatch {
  /** Id of the signed original in the provenance index. */
  recordId: string;
  /** pHash similarity, 1 - differing bits / 64 (1 = identical fingerprint). */
  similarity: number;
  /** The pHash threshold that applied: 0.84 alone, 0.70 when CLIP corroborates. */
  threshold: number;
  /** phash: pHash alone; phash+clip: a weaker pHash match confirmed by CLIP embeddings. */
  method: 'phash' | 'phash+clip';
  /** CLIP cosine similarity, for phash+clip matches. */
  clipSimilarity?: number;
  clipThreshold?: number;
  signedAt: string;
  /** Where the signed original was written when it was signed. */
  signedPath: string;
  originalSha256: string;
  /** The stored manifest of the signed original. */
  manifest: ManifestSummary;
}

export interface SoftBindingLookup {
  /** The index file consulted. */
  index: string;
  /** Best match at or above the threshold, if any. */
  match?: SoftBindingMatch;
  /** Why the lookup could not be done (the image could not be decoded for fingerprinting). */
  error?: string;
}

export interface FileVerification {
  path: string;
  sha256?: string;
  /** MIME type from the file's magic bytes. */
  format?: string;
  /** Absent only when the file could not be verified at all (see error). */
  state?: ProvenanceState;
  /** Why the file could not be verified (unreadable, unsupported format, corrupt manifest). */
  error?: string;
  /** Codes of the active manifest plus ingredient deltas, by kind. */
  codes: StatusCodes;
  /** Number of manifests in the store (the active one plus ingredients' manifests). */
  manifestCount: number;
  activeManifest?: ManifestSummary;
  /** For each configured trust list, whether the signer chains to it. */
  trustLists: { name: string; trusted: boolean }[];
  /** Soft-binding lookup, done only for files without a manifest when an index exists. */
  softBinding?: SoftBindingLookup;
  /** AI disclosure across the whole manifest chain, with the evidence path of each finding. */
  disclosure?: AiDisclosure;
  /** The manifest is stored remotely (cloud): its URL and whether vigil fetched it (--fetch-remote). */
  remoteManifest?: { url: string; fetched: boolean; error?: string };
  /** The sidecar manifest store (.c2pa) the file was verified with (--sidecar). */
  sidecar?: string;
}

/** A file a folder run did not verify, and why (every file found is either verified or listed here). */
export interface SkippedFile {
  path: string;
  reason: string;
}

export interface ProvenanceSummary {
  files: number;
  trusted: number;
  valid: number;
  invalid: number;
  noManifest: number;
  /** Optional fields below are absent from results written before vigil 0.1 verified every format. */
  unreadable?: number;
  errors: number;
  /** Files found in folders but not verified (see skipped). */
  skipped?: number;
  /** Files whose Content Credentials declare AI anywhere in the chain (declared, edited, ingredient, vendor). */
  aiGenerated: number;
  /** Files per AI disclosure level (files without a manifest count under none). */
  disclosure?: Record<DisclosureLevel, number>;
  /** Files without a manifest that matched a signed original in the index. */
  recovered: number;
}

export interface ProvenanceResults extends ResultEnvelope {
  schema: 'vigil/provenance';
  trustLists: TrustListSummary[];
  summary: ProvenanceSummary;
  files: FileVerification[];
  /** Files found in folders and not verified, with the reason (absent in older results). */
  skipped?: SkippedFile[];
}
