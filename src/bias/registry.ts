/**
 * The audit registry: every audit kind vigil can run, in one list. `vigil bias` (src/bias/run.ts),
 * spec validation (src/bias/spec.ts), `vigil bias schema` and the spec reference in docs/bias.md
 * all read it; nothing else switches on audit kinds.
 *
 * To register a new kind (e.g. `detection`):
 * 1. In src/bias/audits/<kind>.ts export `const <kind>Kind = defineAuditKind({...})` (from
 *    ./audits/kind.ts) with:
 *    - `kind`, `title`, `description`: metadata shown in results.json and reports;
 *    - `requires`: the model kinds it runs on (empty for none), whether it needs the probe set and
 *      its ground truth (spec validation reports a missing model or probe set from these);
 *    - `parameters`: a `z.strictObject({ kind: z.literal('<kind>'), id: auditId, ... })` whose
 *      fields each carry `.describe('what it is. Example: ...')`;
 *    - optional `check(entry, spec)`: cross-field problems as `{ field, message }`;
 *    - `observe(entry, ctx)`: gathers observations through the RunContext (model streams, probe
 *      rows, files relative to the spec); this is the only step that does I/O;
 *    - `audit(observed, entry, settings)`: a pure function returning `{ result, observations }`; it
 *      opens no progress bars (it may call `settings.progress(label, total)`) and uses the shared
 *      disaggregation (`analyze` in ./audits/common.ts) for groups, intervals, tests and verdicts;
 *    - optional `notes(result)` (limitations) and `source(observed, entry)` (an input file the
 *      audit read itself, recorded with its hash).
 * 2. Add it to AUDIT_KINDS below, then run `npx vitest run tests/bias/registry.test.ts`.
 */
import { associationKind } from './audits/association.js';
import { classificationKind } from './audits/classification.js';
import { detectionKind } from './audits/detection.js';
import type { RegisteredAuditKind } from './audits/kind.js';
import { predictionsKind } from './audits/predictions.js';
import { reconstructionKind } from './audits/reconstruction.js';
import { retrievalKind } from './audits/retrieval.js';
import { segmentationKind } from './audits/segmentation.js';
import { zeroShotKind } from './audits/zero-shot.js';

export { defineAuditKind, type AuditKindDefinition, type AuditOutput, type AuditRequirements, type RegisteredAuditKind } from './audits/kind.js';

export const AUDIT_KINDS: readonly RegisteredAuditKind[] = [zeroShotKind, classificationKind, retrievalKind, associationKind, reconstructionKind, predictionsKind, detectionKind, segmentationKind];

export function auditKind(kind: string): RegisteredAuditKind {
  const found = AUDIT_KINDS.find((k) => k.kind === kind);
  if (!found) throw new Error(`No audit kind "${kind}" is registered (registered: ${AUDIT_KINDS.map((k) => k.kind).join(', ')})`);
  return found;
}
