import { describeDigitalSourceType, type DigitalSourceTypeInfo } from './digital-source-types.js';
import type { CertificateInfoJson, CrJson, IngredientJson, ManifestJson, ManifestStoreJson, StatusBuckets, StatusEntryJson } from './engine.js';
import type {
  ActionSummary,
  AssertionSummary,
  CertificateSummary,
  IngredientNode,
  ManifestSummary,
  ProvenanceState,
  StatusCode,
  StatusCodes,
  StatusKind,
  TimestampStatus,
} from './result.js';
import { explainStatusCode } from './status-codes.js';

/**
 * Turns c2pa-rs's reader output into vigil's manifest summaries: pure functions of the JSON, so a
 * stored manifest (soft-binding index) summarizes exactly like a freshly read one.
 */

export function statusCode(entry: StatusEntryJson, kind: StatusKind): StatusCode {
  const { explanation, known } = explainStatusCode(entry.code);
  return {
    code: entry.code,
    kind,
    explanation,
    known,
    ...(entry.explanation === undefined ? {} : { validatorExplanation: entry.explanation }),
    ...(entry.url === undefined ? {} : { url: entry.url }),
  };
}

export function emptyCodes(): StatusCodes {
  return { failure: [], informational: [], success: [] };
}

export function bucketCodes(buckets: StatusBuckets | undefined, into: StatusCodes = emptyCodes()): StatusCodes {
  for (const entry of buckets?.failure ?? []) into.failure.push(statusCode(entry, 'failure'));
  for (const entry of buckets?.informational ?? []) into.informational.push(statusCode(entry, 'informational'));
  for (const entry of buckets?.success ?? []) into.success.push(statusCode(entry, 'success'));
  return into;
}

/** Failures that say only that a credential is not on a trust list: they make a manifest Valid, not Invalid. */
const TRUST_ONLY_FAILURES = new Set(['signingCredential.untrusted', 'cawg.x509.credential.untrusted']);

/**
 * The state c2pa-rs assigns: any failure other than an untrusted credential is Invalid; Trusted
 * needs signingCredential.trusted and no failure at all (an untrusted CAWG identity keeps it Valid);
 * otherwise Valid.
 */
export function stateFromCodes(codes: StatusCodes): Exclude<ProvenanceState, 'NoManifest' | 'Unreadable'> {
  if (codes.failure.some((code) => !TRUST_ONLY_FAILURES.has(code.code))) return 'Invalid';
  const trusted = codes.success.some((code) => code.code === 'signingCredential.trusted');
  return trusted && codes.failure.length === 0 ? 'Trusted' : 'Valid';
}

function certificateSummary(info: CertificateInfoJson | undefined): CertificateSummary | undefined {
  if (!info) return undefined;
  const subjectFields = { ...(info.subject ?? {}) };
  const issuerFields = { ...(info.issuer ?? {}) };
  const name = (fields: Record<string, string>): string =>
    fields.CN ??
    Object.entries(fields)
      .map(([key, value]) => `${key}=${value}`)
      .join(', ');
  return {
    subject: name(subjectFields),
    subjectFields,
    issuer: name(issuerFields),
    issuerFields,
    ...(info.serialNumber === undefined ? {} : { serialNumber: info.serialNumber }),
    ...(info.validity?.notBefore === undefined ? {} : { notBefore: info.validity.notBefore }),
    ...(info.validity?.notAfter === undefined ? {} : { notAfter: info.validity.notAfter }),
  };
}

const TIMESTAMP_CODES: [string, TimestampStatus][] = [
  ['timeStamp.mismatch', 'mismatch'],
  ['timeStamp.malformed', 'malformed'],
  ['timeStamp.outsideValidity', 'outsideValidity'],
  ['timeStamp.untrusted', 'untrusted'],
  ['timeStamp.trusted', 'trusted'],
  ['timeStamp.validated', 'validated'],
];

/** c2pa-rs's wording when it accepts a claim v1 (legacy) time-stamp without checking its authority against a trust list. */
const LEGACY_TIMESTAMP = /^legacy timestamp/i;

export const LEGACY_TIMESTAMP_NOTE =
  'Legacy (claim v1) time-stamp: c2pa-rs reports it as trusted without checking the time-stamp authority against any trust list, so vigil reports it as validated only.';

function timestampStatus(codes: StatusCodes, hasTimestamp: boolean): { status: TimestampStatus; note?: string } {
  const all = [...codes.failure, ...codes.informational, ...codes.success];
  for (const [code, status] of TIMESTAMP_CODES) {
    const entries = all.filter((entry) => entry.code === code);
    if (entries.length === 0) continue;
    if (status === 'trusted' && entries.every((entry) => LEGACY_TIMESTAMP.test(entry.validatorExplanation ?? ''))) {
      return { status: 'validated', note: LEGACY_TIMESTAMP_NOTE };
    }
    return { status };
  }
  return { status: hasTimestamp ? 'validated' : 'none' };
}

/**
 * Whether the signer's certificate was valid when the claim was signed and whether it has
 * expired since, judged from the certificate's dates, the time-stamp (attested when trusted)
 * or else the signer's own claimed signing time, and now.
 */
export function certificateValidity(
  certificate: { notBefore?: string; notAfter?: string } | undefined,
  signing: { time?: string; attested: boolean },
  now = new Date(),
): string | undefined {
  const notAfter = certificate?.notAfter ? new Date(certificate.notAfter) : undefined;
  const notBefore = certificate?.notBefore ? new Date(certificate.notBefore) : undefined;
  if (notAfter === undefined || Number.isNaN(notAfter.getTime())) return undefined;
  const signedAt = signing.time ? new Date(signing.time) : undefined;
  const source = signing.attested ? 'the trusted time-stamp' : "the signer's own claimed signing time (not attested by a trusted time-stamp)";
  const until = certificate?.notAfter;
  if (signedAt === undefined || Number.isNaN(signedAt.getTime())) {
    return now > notAfter ? `The certificate expired on ${until}; the file records no signing time.` : undefined;
  }
  if (signedAt > notAfter || (notBefore !== undefined && signedAt < notBefore)) {
    return `The certificate was NOT valid when the claim was signed: signed ${signing.time} per ${source}, certificate valid ${certificate?.notBefore ?? '?'} to ${until}.`;
  }
  if (now <= notAfter) return undefined;
  return signing.attested
    ? `The certificate was valid when the claim was signed (${signing.time}, per the trusted time-stamp) and expired later, on ${until}; validity is judged at the time-stamp, so the expiry does not affect the verdict.`
    : `The certificate expired after signing, on ${until}; the claim says it was signed on ${signing.time}, while the certificate was valid, but without a trusted time-stamp that time is only the signer's word, so c2pa-rs judges the certificate at the current time.`;
}

function softwareAgentName(agent: unknown): string | undefined {
  if (typeof agent === 'string') return agent;
  if (agent && typeof agent === 'object' && 'name' in agent && typeof agent.name === 'string') {
    const version = 'version' in agent && typeof agent.version === 'string' ? ` ${agent.version}` : '';
    return `${agent.name}${version}`;
  }
  return undefined;
}

function actionsOf(assertions: ManifestJson['assertions']): ActionSummary[] {
  const actions: ActionSummary[] = [];
  for (const assertion of assertions ?? []) {
    if (assertion.label !== 'c2pa.actions' && assertion.label !== 'c2pa.actions.v2') continue;
    const list = (assertion.data as { actions?: unknown[] } | undefined)?.actions ?? [];
    for (const raw of list) {
      const action = raw as Record<string, unknown>;
      if (typeof action.action !== 'string') continue;
      const agent = softwareAgentName(action.softwareAgent);
      actions.push({
        action: action.action,
        ...(typeof action.when === 'string' ? { when: action.when } : {}),
        ...(agent === undefined ? {} : { softwareAgent: agent }),
        ...(typeof action.digitalSourceType === 'string' ? { digitalSourceType: describeDigitalSourceType(action.digitalSourceType) } : {}),
        ...(action.parameters === undefined ? {} : { parameters: action.parameters }),
      });
    }
  }
  return actions;
}

interface SummaryContext {
  store: ManifestStoreJson;
  crJson: CrJson;
  /** Ingredient deltas of the active manifest's validation, by ingredient assertion URI. */
  deltas: Map<string, StatusBuckets>;
  /** Names of the trust lists the active signer chains to. */
  trustedBy: string[];
  visiting: Set<string>;
}

function ingredientCodes(ingredient: IngredientJson): StatusCodes {
  if (ingredient.validation_results?.activeManifest) return bucketCodes(ingredient.validation_results.activeManifest);
  // Claim v1 ingredients carry a flat validation_status list without kinds.
  const codes = emptyCodes();
  for (const entry of ingredient.validation_status ?? []) {
    const kind: StatusKind = /\.(untrusted|mismatch|missing|invalid|malformed|revoked|expired)$/.test(entry.code) ? 'failure' : 'success';
    codes[kind].push(statusCode(entry, kind));
  }
  return codes;
}

function ingredientNode(ingredient: IngredientJson, parentLabel: string, context: SummaryContext): IngredientNode {
  const codes = ingredientCodes(ingredient);
  const delta = ingredient.label === undefined ? undefined : context.deltas.get(`self#jumbf=/c2pa/${parentLabel}/c2pa.assertions/${ingredient.label}`);
  const deltaCodes = bucketCodes(delta);
  // The stored codes were recorded when the ingredient was added, against the signer's trust
  // settings; a trust verdict of this validation replaces the recorded one.
  const retrusted = [...deltaCodes.success, ...deltaCodes.failure].some((code) => code.code.startsWith('signingCredential.'));
  if (retrusted) codes.failure = codes.failure.filter((code) => code.code !== 'signingCredential.untrusted');
  codes.failure.push(...deltaCodes.failure);
  codes.informational.push(...deltaCodes.informational);
  codes.success.push(...deltaCodes.success);
  const manifestLabel = ingredient.active_manifest;
  const manifestJson = manifestLabel === undefined ? undefined : context.store.manifests[manifestLabel];
  const hasProvenance = manifestLabel !== undefined || codes.failure.length > 0;
  const manifest =
    manifestJson && manifestLabel !== undefined && !context.visiting.has(manifestLabel)
      ? summarizeManifest(manifestLabel, manifestJson, context, codes)
      : undefined;
  return {
    ...(ingredient.title === undefined ? {} : { title: ingredient.title }),
    ...(ingredient.format === undefined ? {} : { format: ingredient.format }),
    ...(ingredient.relationship === undefined ? {} : { relationship: ingredient.relationship }),
    ...(ingredient.instance_id === undefined ? {} : { instanceId: ingredient.instance_id }),
    state: hasProvenance ? stateFromCodes(codes) : 'NoManifest',
    codes,
    ...(manifest === undefined ? {} : { manifest }),
  };
}

function summarizeManifest(label: string, manifest: ManifestJson, context: SummaryContext, codes: StatusCodes): ManifestSummary {
  context.visiting.add(label);
  const signature = context.crJson.manifests?.find((entry) => entry.label === label)?.signature;
  const certificate = certificateSummary(signature?.certificateInfo);
  const isActive = label === context.store.active_manifest;
  const actions = actionsOf(manifest.assertions);
  const sourceTypes = new Map<string, DigitalSourceTypeInfo>();
  for (const action of actions) if (action.digitalSourceType) sourceTypes.set(action.digitalSourceType.uri, action.digitalSourceType);
  const shown = new Set((manifest.assertions ?? []).map((assertion) => assertion.label));
  const crAssertions = Object.keys(
    (context.crJson.manifests?.find((entry) => entry.label === label) as { assertions?: Record<string, unknown> } | undefined)?.assertions ?? {},
  );
  const assertions: AssertionSummary[] = [
    ...(manifest.assertions ?? []).map((assertion) => ({
      label: assertion.label,
      ...(assertion.kind === undefined ? {} : { kind: assertion.kind }),
      ...(assertion.data === undefined ? {} : { data: assertion.data }),
    })),
    // Hash bindings and thumbnails do not appear in the reader JSON; list their labels too.
    ...crAssertions.filter((name) => !shown.has(name) && !(name === 'c2pa.actions' && shown.has('c2pa.actions.v2'))).map((name) => ({ label: name })),
  ];
  const timestampTime = signature?.timeStampInfo?.timestamp;
  const authority = certificateSummary(signature?.timeStampInfo?.certificateInfo);
  const timestamp = timestampStatus(codes, timestampTime !== undefined);
  const validity = certificateValidity(certificate, {
    time: timestampTime ?? manifest.signature_info?.time,
    attested: timestamp.status === 'trusted',
  });
  if (validity !== undefined) {
    for (const code of [...codes.failure, ...codes.informational]) if (code.code === 'signingCredential.expired') code.finding = validity;
  }
  const summary: ManifestSummary = {
    label,
    ...(manifest.title === undefined ? {} : { title: manifest.title }),
    ...(manifest.format === undefined ? {} : { format: manifest.format }),
    ...(manifest.instance_id === undefined ? {} : { instanceId: manifest.instance_id }),
    ...(manifest.claim_generator === undefined ? {} : { claimGenerator: manifest.claim_generator }),
    claimGeneratorInfo: (manifest.claim_generator_info ?? []).map((info) => ({
      ...(info.name === undefined ? {} : { name: info.name }),
      ...(info.version === undefined ? {} : { version: info.version }),
    })),
    ...(manifest.claim_version === undefined ? {} : { claimVersion: manifest.claim_version }),
    ...(certificate === undefined
      ? {}
      : {
          signer: {
            ...certificate,
            ...(signature?.algorithm === undefined ? {} : { algorithm: signature.algorithm }),
            trustedBy: isActive ? context.trustedBy : [],
            ...(validity === undefined ? {} : { validity }),
          },
        }),
    ...(manifest.signature_info?.time === undefined ? {} : { signingTime: manifest.signature_info.time }),
    timestamp: {
      status: timestamp.status,
      ...(timestamp.note === undefined ? {} : { note: timestamp.note }),
      ...(timestampTime === undefined ? {} : { time: timestampTime }),
      ...(authority === undefined ? {} : { authority }),
    },
    actions,
    digitalSourceTypes: [...sourceTypes.values()],
    aiGenerated: [...sourceTypes.values()].some((type) => type.aiGenerated),
    assertions,
    ingredients: (manifest.ingredients ?? []).map((ingredient) => ingredientNode(ingredient, label, context)),
  };
  context.visiting.delete(label);
  return summary;
}

/** The active manifest of a store, summarized with its ingredient tree. */
export function summarizeActiveManifest(
  store: ManifestStoreJson,
  crJson: CrJson,
  activeCodes: StatusCodes,
  trustedBy: string[],
): ManifestSummary | undefined {
  const label = store.active_manifest;
  const manifest = label === undefined ? undefined : store.manifests[label];
  if (label === undefined || manifest === undefined) return undefined;
  const deltas = new Map<string, StatusBuckets>();
  for (const delta of store.validation_results?.ingredientDeltas ?? []) deltas.set(delta.ingredientAssertionURI, delta.validationDeltas);
  return summarizeManifest(label, manifest, { store, crJson, deltas, trustedBy, visiting: new Set() }, activeCodes);
}
