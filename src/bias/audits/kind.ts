/**
 * The shape of an audit kind (see src/bias/registry.ts for how kinds are registered) and the zod
 * building blocks their spec entries share.
 */
import { z } from 'zod';
import type { RunContext } from '../context.js';
import type { AuditResult, BiasResult } from '../result.js';
import type { AuditSettings, Observation } from './common.js';

export const nonEmpty = z.string().trim().min(1);
export const stringList = z.array(nonEmpty).min(1);
export const cutoffs = z.array(z.number().int().positive()).min(1);
/** The `id` every audit entry may carry (default: its kind). */
export const auditId = nonEmpty.optional().describe('Audit id, unique in the spec (default: the kind). Needed when a spec has two audits of one kind. Example: occupations.');

/** Every spec entry has a kind and an optional id. */
export interface AuditEntryBase {
  kind: string;
  id?: string;
}

/** Facts about the whole spec that an entry's cross-field check may need. */
export interface SpecFacts {
  sensitive: readonly string[];
}

/** What a kind needs from the run. */
export interface AuditRequirements {
  /** Model kinds (`clip`, `vit`, `mae`, ...) the audit can run on; empty: it runs no model. */
  models: readonly string[];
  /** Needs the spec's probe set (images with their sensitive attributes). */
  probeSet: boolean;
  /** Needs the probe set's ground-truth column. */
  groundTruth: boolean;
}

/** The pure part's output: the audit's result and the observations behind it (observations.csv). */
export interface AuditOutput {
  result: AuditResult;
  observations: readonly Observation[];
}

export interface AuditKindDefinition<Entry extends AuditEntryBase = AuditEntryBase, Observed = unknown> {
  /** The spec's `kind:` value. */
  kind: string;
  title: string;
  description: string;
  requires: AuditRequirements;
  /**
   * The spec entry: a `z.strictObject` with `kind: z.literal(<kind>)`, `id: auditId` and the
   * kind's parameters, each with `.describe()` (the spec reference in docs/bias.md is generated
   * from these descriptions).
   */
  parameters: z.ZodType<Entry>;
  /** Checks across fields and against the spec (`attribute` among `sensitive`): problem messages. */
  check?(entry: Entry, spec: SpecFacts): { field: string; message: string }[];
  /** Gathers observations: runs the model through the context or reads the audit's own input. */
  observe(entry: Entry, ctx: RunContext): Promise<Observed>;
  /** Pure: observations in, result out. No I/O, no progress bars (progress goes through settings). */
  audit(observed: Observed, entry: Entry & { id: string }, settings: AuditSettings): AuditOutput;
  /** Limitations specific to this kind, for the result's `limitations`. */
  notes?(result: AuditResult): string[];
  /** The input file an audit read itself (the `predictions` block of results.json). */
  source?(observed: Observed, entry: Entry): NonNullable<BiasResult['predictions']>;
}

/** A definition with its types erased, as the registry holds it. */
export type RegisteredAuditKind = AuditKindDefinition<AuditEntryBase, unknown>;

/** Type-checks a kind's definition against its own entry and observation types, then erases them. */
export function defineAuditKind<Entry extends AuditEntryBase, Observed>(definition: AuditKindDefinition<Entry, Observed>): RegisteredAuditKind {
  return definition as unknown as RegisteredAuditKind;
}

/** The note shared by kinds whose results depend on wording. */
export function promptNote(result: AuditResult): string[] {
  return [`${result.id}: results hold for the disclosed labels, prompts and templates only; other wordings can change them.`];
}

/** Templates must contain {label}. */
export function templateProblems(templates: readonly string[] | undefined): { field: string; message: string }[] {
  return (templates ?? []).flatMap((t, j) =>
    t.includes('{label}') ? [] : [{ field: `templates.${j}`, message: `expected a template containing {label} (e.g. "a photo of a {label}.") but received ${JSON.stringify(t)}` }],
  );
}
