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
import { parseThreshold, type Threshold } from './thresholds.js';

const nonEmpty = z.string().trim().min(1);
const stringList = z.array(nonEmpty).min(1);
const ks = z.array(z.number().int().positive()).min(1);

const zeroShot = z.strictObject({
  kind: z.literal('zero-shot'),
  id: nonEmpty.optional(),
  /** Candidate labels the model chooses among. */
  labels: stringList,
  /** Prompt templates containing {label}; several are ensembled. */
  templates: stringList.default(['a photo of a {label}.']),
  /** Labels whose prediction is harmful (their combined rate per group is `selection_rate`). */
  harmful_labels: z.array(nonEmpty).default([]),
});

const classification = z.strictObject({
  kind: z.literal('classification'),
  id: nonEmpty.optional(),
  /** ViT: a subset of its labels; CLIP: the zero-shot labels (required). Ground truth must use them. */
  labels: stringList.optional(),
  templates: stringList.optional(),
  /** Label(s) that count as positive for selection rate, TPR and FPR. */
  positive_labels: z.array(nonEmpty).optional(),
});

const retrieval = z.strictObject({
  kind: z.literal('retrieval'),
  id: nonEmpty.optional(),
  /** Text queries; probe images are ranked by CLIP similarity to each. */
  queries: stringList,
  /** Templates containing {label} applied to each query and ensembled; default: the query as is. */
  templates: stringList.default(['{label}']),
  k: ks.default([10, 50, 100]),
});

const association = z.strictObject({
  kind: z.literal('association'),
  id: nonEmpty.optional(),
  /** Sensitive attribute whose two groups are the target sets X and Y. */
  attribute: nonEmpty,
  x_group: nonEmpty,
  y_group: nonEmpty,
  /** Exactly two named concept prompt sets, A then B (e.g. career vs family). */
  concepts: z.record(nonEmpty, stringList).refine((c) => Object.keys(c).length === 2, 'expected exactly two concept sets (A and B)'),
});

const reconstruction = z.strictObject({
  kind: z.literal('reconstruction'),
  id: nonEmpty.optional(),
  /** Random masks averaged per image (seeded from the spec's seed). */
  masks: z.number().int().positive().default(4),
});

const predictions = z.strictObject({
  kind: z.literal('predictions'),
  id: nonEmpty.optional(),
  /** CSV with one row per observation, the sensitive columns and the columns below. */
  file: nonEmpty,
  label: nonEmpty.optional(),
  prediction: nonEmpty.optional(),
  score: nonEmpty.optional(),
  k: ks.optional(),
  positive_labels: z.array(nonEmpty).optional(),
});

const auditSchema = z.discriminatedUnion('kind', [zeroShot, classification, retrieval, association, reconstruction, predictions]);

const thresholdSchema = z.union([
  nonEmpty,
  z.strictObject({
    /** e.g. `demographic_parity_ratio >= 0.8`, `max_skew@100 <= 0.3`, `ndkl@50:proportional <= 0.1`. */
    check: nonEmpty,
    /** A stricter bound: values between it and the check's bound are `warn`. */
    warn: z.number().optional(),
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
  /** Observation cache folder (default: the vision stack's default). */
  cache_dir: nonEmpty.optional(),
  audits: z.array(auditSchema).min(1),
  thresholds: z.array(thresholdSchema).default([]),
});

export type AuditSpec = z.infer<typeof specSchema>;
export type AuditEntry = z.infer<typeof auditSchema>;

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
    if (audit.kind !== 'predictions' && spec.model === undefined) problems.push(`  model: audit kind ${audit.kind} (audits.${i}) needs a model folder`);
    if (audit.kind !== 'predictions' && spec.probe_set === undefined) problems.push(`  probe_set: audit kind ${audit.kind} (audits.${i}) needs a probe set`);
    if (audit.kind === 'association' && !spec.sensitive.includes(audit.attribute)) {
      problems.push(`  audits.${i}.attribute: "${audit.attribute}" is not among sensitive (${spec.sensitive.join(', ')})`);
    }
    if (audit.kind === 'zero-shot') {
      const unknown = audit.harmful_labels.filter((l) => !audit.labels.includes(l));
      if (unknown.length > 0) problems.push(`  audits.${i}.harmful_labels: ${unknown.join(', ')} not among labels`);
    }
    const templates = 'templates' in audit ? (audit.templates ?? []) : [];
    templates.forEach((t, j) => {
      if (!t.includes('{label}')) problems.push(`  audits.${i}.templates.${j}: expected a template containing {label} but received ${JSON.stringify(t)}`);
    });
    if (audit.kind === 'predictions' && !audit.prediction && !audit.score) {
      problems.push(`  audits.${i}: a predictions audit needs a prediction column, a score column, or both`);
    }
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
