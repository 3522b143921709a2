/**
 * Audit specs (`audits/*.yaml` or `.json`): validated with zod, each wrong field reported with its
 * path, what was expected and what was received. Paths inside a spec are relative to the spec file.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { sha256Hex } from '../core/files.js';
import { FAIRFACE_AGE_EDGES, PROBE_FORMATS } from '../probes/index.js';
import { auditId, nonEmpty, stringList } from './audits/kind.js';
import { AUDIT_KINDS, auditKind } from './registry.js';
import { parseThreshold, type Threshold } from './thresholds.js';

/** What every registered entry schema has; the kind's definition validates the rest. */
type EntryShape = z.ZodObject<{ kind: z.ZodLiteral<string>; id: typeof auditId }, z.core.$loose>;

const auditSchema = z.discriminatedUnion(
  'kind',
  AUDIT_KINDS.map((k) => k.parameters) as unknown as [EntryShape, ...EntryShape[]],
);

const thresholdSchema = z.union([
  nonEmpty,
  z.strictObject({
    /** e.g. `demographic_parity_ratio >= 0.8`, `max_skew@100 <= 0.3`, `ndkl@50:proportional <= 0.1`. */
    check: nonEmpty,
    /** A stricter bound: a pass whose value lies between it and the check's bound says so in its reason. */
    warn: z.number().optional(),
    fail_on: z.enum(['interval', 'significant']).default('interval'),
    /** Restrict to one audit id and/or one attribute. */
    audit: nonEmpty.optional(),
    attribute: nonEmpty.optional(),
  }),
]);

export const specSchema = z.strictObject({
  name: nonEmpty,
  description: z.string().optional(),
  /** Model folder (Hugging Face / Optimum ONNX layout); not needed when every audit is `predictions`. */
  model: nonEmpty.optional(),
  device: z.enum(['cpu', 'cuda', 'webgpu', 'auto']).default('cpu'),
  probe_set: z
    .strictObject({
      path: nonEmpty,
      format: z.enum(PROBE_FORMATS).default('auto'),
      file_column: nonEmpty.optional(),
      label_column: nonEmpty.optional(),
      age_bins: z
        .array(z.strictObject({ name: nonEmpty, from: nonEmpty, edges: z.array(z.number()).min(1).default(FAIRFACE_AGE_EDGES) }))
        .default([]),
    })
    .optional(),
  sensitive: stringList,
  intersections: z.array(z.array(nonEmpty).min(2)).default([]),
  seed: z.number().int().default(0),
  n_boot: z.number().int().min(0).max(100000).default(1000),
  ci_level: z.number().gt(0).lt(1).default(0.95),
  min_group_size: z.number().int().min(1).default(30),
  n_permutations: z.number().int().min(0).default(1000),
  alpha: z.number().gt(0).lt(1).default(0.05),
  min_positives: z.number().int().min(1).default(10),
  equalized_odds_agg: z.enum(['worst_case', 'mean']).default('worst_case'),
  /** Observation cache folder (default: the vision stack's default). */
  cache_dir: nonEmpty.optional(),
  audits: z.array(auditSchema).min(1),
  thresholds: z.array(thresholdSchema).default([]),
});

export type AuditSpec = z.infer<typeof specSchema>;
/** One `audits:` entry; its kind's definition in the registry knows the rest of its fields. */
export type AuditEntry = { kind: string; id?: string } & Record<string, unknown>;

export interface LoadedSpec {
  spec: AuditSpec;
  /** Spec file (absolute), or a description for in-memory specs. */
  path: string;
  /** sha256 of the spec file's bytes. */
  sha256: string;
  /** Folder that relative paths in the spec are resolved against. */
  baseDir: string;
  thresholds: Threshold[];
}

/** `audits.1.labels: Expected array, received string` style lines, one per issue. */
export function describeIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `  ${path}: ${issue.message}`;
  });
  return `${source} is not a valid audit spec:\n${lines.join('\n')}`;
}

/** Validates a parsed spec document (from a file or built by the CLI). */
export function validateSpec(document: unknown, source: string, baseDir: string, sha256: string): LoadedSpec {
  const parsed = specSchema.safeParse(document);
  if (!parsed.success) throw new VigilInputError(describeIssues(parsed.error, source), { subject: source });
  const spec = parsed.data;
  const problems: string[] = [];
  const ids = new Set<string>();
  spec.audits.forEach((audit, i) => {
    const id = audit.id ?? audit.kind;
    if (ids.has(id)) problems.push(`  audits.${i}.id: duplicate audit id "${id}" (give each audit of the same kind an id)`);
    ids.add(id);
    const kind = auditKind(audit.kind);
    if (kind.requires.models.length > 0 && spec.model === undefined) problems.push(`  model: audit kind ${audit.kind} (audits.${i}) needs a model folder (${kind.requires.models.join(' or ')}), e.g. model: ../models/clip`);
    if (kind.requires.probeSet && spec.probe_set === undefined) problems.push(`  probe_set: audit kind ${audit.kind} (audits.${i}) needs a probe set, e.g. probe_set: {path: data/probe}`);
    for (const p of kind.check?.(audit, { sensitive: spec.sensitive }) ?? []) problems.push(`  audits.${i}.${p.field}: ${p.message}`);
  });
  spec.intersections.forEach((combo, i) => {
    const unknown = combo.filter((a) => !spec.sensitive.includes(a));
    if (unknown.length > 0) problems.push(`  intersections.${i}: ${unknown.join(', ')} not among sensitive (${spec.sensitive.join(', ')})`);
  });
  const thresholds: Threshold[] = [];
  spec.thresholds.forEach((entry, i) => {
    try {
      const t = parseThreshold(typeof entry === 'string' ? { check: entry } : entry);
      if (t.audit !== undefined && !ids.has(t.audit)) throw new Error(`audit "${t.audit}" is not an audit id of this spec (${[...ids].join(', ')})`);
      thresholds.push(t);
    } catch (error) {
      problems.push(`  thresholds.${i}: ${errorMessage(error)}`);
    }
  });
  if (problems.length > 0) throw new VigilInputError(`${source} is not a valid audit spec:\n${problems.join('\n')}`, { subject: source });
  return { spec, path: source, sha256, baseDir, thresholds };
}

export async function loadSpec(path: string): Promise<LoadedSpec> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new VigilInputError(`Audit spec ${path} cannot be read: ${errorMessage(error)}`, { subject: path });
  }
  let document: unknown;
  try {
    document = path.endsWith('.json') ? JSON.parse(bytes.toString('utf8')) : parseYaml(bytes.toString('utf8'));
  } catch (error) {
    throw new VigilInputError(`Audit spec ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${errorMessage(error)}`, { subject: path });
  }
  return validateSpec(document, path, dirname(resolve(path)), sha256Hex(bytes));
}
