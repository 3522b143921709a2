/**
 * Audit specs (`audits/*.yaml` or `.json`): validated with zod, each wrong field reported with its
 * path, what was expected and what was received. Paths inside a spec are relative to the spec file.
 */
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { MAX_CONFIG_BYTES, readInputFile, sha256Hex } from '../core/files.js';
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

const thresholdSchema = z
  .union([
    nonEmpty,
    z.strictObject({
      check: nonEmpty.describe('metric[@k][:target] <op> number. Example: "demographic_parity_ratio >= 0.8", "max_skew@100 <= 0.3", "ndkl@50:proportional <= 0.1".'),
      warn: z.number().optional().describe('A stricter bound: a pass whose value lies between it and the bound says so in its reason. Example: 0.9.'),
      fail_on: z
        .enum(['interval', 'significant'])
        .default('interval')
        .describe('interval: fail only when the whole interval violates the bound; significant: also when the point estimate does and the metric\'s Holm-adjusted test is significant. Example: significant.'),
      audit: nonEmpty.optional().describe('Only this audit id. Example: occupations.'),
      attribute: nonEmpty.optional().describe('Only this sensitive attribute (or intersection, "gender × race"). Example: gender.'),
    }),
  ])
  .describe('A check as a string, or an object with the check and options. Example: "demographic_parity_ratio >= 0.8".');

export const specSchema = z.strictObject({
  name: nonEmpty.describe('Name of the audit, used in reports and the default output folder. Example: FairFace zero-shot harmful labels.'),
  description: z.string().optional().describe('Free text shown in the report. Example: Checks CLIP for crime-related labels by race.'),
  model: nonEmpty
    .optional()
    .describe('Model folder (Hugging Face / Optimum ONNX layout), relative to the spec; needed by every audit kind except predictions. Example: ../fixtures/models/clip-tiny.'),
  device: z.enum(['cpu', 'cuda', 'webgpu', 'auto']).default('cpu').describe('Where the model runs. Example: cpu.'),
  probe_set: z
    .strictObject({
      path: nonEmpty.describe('Probe-set folder or labels file, relative to the spec. Example: data/fairface-sample.'),
      format: z.enum(PROBE_FORMATS).default('auto').describe(`Labels format: ${PROBE_FORMATS.join(', ')}. Example: fairface.`),
      file_column: nonEmpty.optional().describe('Column of image paths (default file, or file_name for imagefolder). Example: image.'),
      label_column: nonEmpty.optional().describe('Ground-truth column (default label when present). Example: smiling.'),
      age_bins: z
        .array(
          z.strictObject({
            name: nonEmpty.describe('Derived attribute name. Example: age_group.'),
            from: nonEmpty.describe('Numeric source column. Example: age.'),
            edges: z.array(z.number()).min(1).default(FAIRFACE_AGE_EDGES).describe(`Increasing lower edges (default FairFace's ${FAIRFACE_AGE_EDGES.join(', ')}). Example: [0, 20, 40, 60].`),
          }),
        )
        .default([])
        .describe('Numeric columns binned into derived attributes. Example: [{name: age_group, from: age}].'),
    })
    .optional()
    .describe('The probe set: images with their sensitive attributes; needed by every audit kind except predictions. Example: {path: data/probe, format: csv}.'),
  sensitive: stringList.describe('Sensitive attribute columns; every metric is disaggregated by each. Example: [gender, race].'),
  intersections: z
    .array(z.array(nonEmpty).min(2))
    .default([])
    .describe('Intersections of sensitive attributes, each a list of two or more. Example: [[gender, race]].'),
  seed: z.number().int().default(0).describe('Seed of the bootstrap and permutation tests (results are reproducible from it). Example: 0.'),
  n_boot: z.number().int().min(0).max(100000).default(1000).describe('Bootstrap replicates (0: no intervals, so every check is inconclusive). Example: 1000.'),
  ci_level: z.number().gt(0).lt(1).default(0.95).describe('Interval level. Example: 0.95.'),
  min_group_size: z
    .number()
    .int()
    .min(1)
    .default(30)
    .describe('Groups with fewer observations are reported but left out of disparities; checks that cannot cover them are inconclusive. Example: 30.'),
  n_permutations: z.number().int().min(0).default(1000).describe('Permutations of the mean-difference tests (up to 100,000 rows; an F test beyond). Example: 1000.'),
  alpha: z.number().gt(0).lt(1).default(0.05).describe('Significance level of the Holm-adjusted tests. Example: 0.05.'),
  min_positives: z
    .number()
    .int()
    .min(1)
    .default(10)
    .describe('Ground-truth positives (negatives) a group needs for a TPR (FPR) or equalized-odds check to pass; fewer make it inconclusive. Example: 10.'),
  equalized_odds_agg: z
    .enum(['worst_case', 'mean'])
    .default('worst_case')
    .describe("Equalized odds from the TPR and FPR disparities: worst_case (the larger difference, smaller ratio) or mean (their mean), as Fairlearn's agg. Example: mean."),
  cache_dir: nonEmpty.optional().describe("Observation cache folder, relative to the spec (default: the vision stack's). Example: .vigil-cache."),
  audits: z.array(auditSchema).min(1).describe(`The audits to run; each has a kind (${AUDIT_KINDS.map((k) => k.kind).join(', ')}) and that kind's fields. Example: [{kind: predictions, file: preds.csv, prediction: yhat}].`),
  thresholds: z.array(thresholdSchema).default([]).describe('Checks that decide the verdict; without any the run is not judged. Example: ["demographic_parity_ratio >= 0.8"].'),
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

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as z.ZodType & { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } } };
  for (let i = 0; i < 10; i++) {
    const def = s._zod.def;
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') && def.innerType) s = def.innerType as typeof s;
    else if (def.type === 'pipe' && def.in) s = def.in as typeof s;
    else break;
  }
  return s;
}

/**
 * The description of the field at `path` in a spec document (audit entries by their kind), for
 * error messages: "what it is. Example: ...". Undefined when the path leads nowhere known.
 */
function describeField(document: unknown, path: readonly PropertyKey[]): string | undefined {
  let schema: z.ZodType = specSchema;
  let value: unknown = document;
  let description: string | undefined;
  for (const key of path) {
    const inner = unwrap(schema) as z.ZodType & { _zod: { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; options?: z.ZodType[] } } };
    const def = inner._zod.def;
    let next: z.ZodType | undefined;
    if (def.type === 'object' && def.shape) next = def.shape[String(key)];
    else if (def.type === 'array' && def.element) next = def.element;
    else if (def.type === 'union' && def.options) {
      const kind = (value as { kind?: unknown } | undefined)?.kind;
      const registered = typeof kind === 'string' ? AUDIT_KINDS.find((k) => k.kind === kind) : undefined;
      const option = registered ? unwrap(registered.parameters) : def.options.map(unwrap).find((o) => (o as unknown as { _zod: { def: { type: string } } })._zod.def.type === 'object');
      const shape = (option as unknown as { _zod: { def: { shape?: Record<string, z.ZodType> } } } | undefined)?._zod.def.shape;
      next = shape?.[String(key)];
    }
    if (next === undefined) return description;
    schema = next;
    description = schema.description ?? unwrap(schema).description ?? description;
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key as string] : undefined;
  }
  return description;
}

/** "Example: ..." from a field description, or undefined. */
function exampleOf(description: string | undefined): string | undefined {
  const match = description === undefined ? null : /Example: (.*)$/.exec(description);
  return match ? match[1].replace(/\.$/, '') : undefined;
}

/** Field names allowed at `path` (for unrecognized keys). */
function allowedKeys(document: unknown, path: readonly PropertyKey[]): string[] {
  if (path.length === 0) return Object.keys(specSchema.shape);
  if (path.length === 2 && path[0] === 'audits') {
    const kind = (document as { audits?: { kind?: unknown }[] } | undefined)?.audits?.[path[1] as number]?.kind;
    const registered = typeof kind === 'string' ? AUDIT_KINDS.find((k) => k.kind === kind) : undefined;
    const shape = (unwrap(registered?.parameters ?? specSchema) as unknown as { _zod: { def: { shape?: Record<string, unknown> } } })._zod.def.shape;
    return registered && shape ? Object.keys(shape) : [];
  }
  const inner = unwrap((fieldSchema(path) ?? specSchema) as z.ZodType) as unknown as { _zod: { def: { shape?: Record<string, unknown> } } };
  return Object.keys(inner._zod.def.shape ?? {});
}

/** The schema of the field at `path` through objects and arrays (undefined past anything else). */
function fieldSchema(path: readonly PropertyKey[]): z.ZodType | undefined {
  let schema: z.ZodType = specSchema;
  for (const key of path) {
    const def = (unwrap(schema) as unknown as { _zod: { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType } } })._zod.def;
    const next = def.type === 'object' ? def.shape?.[String(key)] : def.type === 'array' ? def.element : undefined;
    if (!next) return undefined;
    schema = next;
  }
  return schema;
}

/**
 * One line per issue: the field path, what was expected (zod's message, or the allowed keys or
 * kinds), and the field's description with its example, e.g.
 * `audits.1.concepts: Invalid input: expected record, received undefined. Exactly two named concept
 * prompt sets, A then B. Example: {career: [...], family: [...]}`.
 */
export function describeIssues(error: z.ZodError, source: string, document?: unknown): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(document, issue.path);
      return `  ${path}: ${issue.message}; expected only ${allowed.length > 0 ? allowed.join(', ') : 'the documented fields'} (see vigil bias schema)`;
    }
    if (issue.code === 'invalid_union' && issue.path.length === 2 && issue.path[0] === 'audits') {
      return `  ${path}.kind: expected one of ${AUDIT_KINDS.map((k) => k.kind).join(', ')} but received ${JSON.stringify((document as { audits?: { kind?: unknown }[] })?.audits?.[issue.path[1] as number]?.kind)}. Example: kind: predictions`;
    }
    const description = describeField(document, issue.path);
    const example = issue.path[issue.path.length - 1] === 'kind' ? `kind: ${AUDIT_KINDS[AUDIT_KINDS.length - 1]?.kind ?? 'predictions'}` : exampleOf(description);
    const what = description === undefined || issue.path[issue.path.length - 1] === 'kind' ? '' : ` ${description.replace(/ ?Example: .*$/, '')}`;
    return `  ${path}: ${issue.message}.${what}${example === undefined ? '' : ` Example: ${example}`}`;
  });
  return `${source} is not a valid audit spec:\n${lines.join('\n')}`;
}

/** Validates a parsed spec document (from a file or built by the CLI). */
export function validateSpec(document: unknown, source: string, baseDir: string, sha256: string): LoadedSpec {
  const parsed = specSchema.safeParse(document);
  if (!parsed.success) throw new VigilInputError(describeIssues(parsed.error, source, document), { subject: source });
  const spec = parsed.data;
  const problems: string[] = [];
  const ids = new Set<string>();
  spec.audits.forEach((audit, i) => {
    const id = audit.id ?? audit.kind;
    if (ids.has(id)) problems.push(`  audits.${i}.id: expected an id unique in the spec but received the duplicate "${id}" (give each audit of the same kind an id). Example: id: ${audit.kind}-2`);
    ids.add(id);
    const kind = auditKind(audit.kind);
    if (kind.requires.models.length > 0 && spec.model === undefined) problems.push(`  model: audit kind ${audit.kind} (audits.${i}) needs a model folder (${kind.requires.models.join(' or ')}). Example: model: ../fixtures/models/${kind.requires.models[0]}`);
    if (kind.requires.probeSet && spec.probe_set === undefined) problems.push(`  probe_set: audit kind ${audit.kind} (audits.${i}) needs a probe set. Example: probe_set: {path: ../fixtures/probes/planted}`);
    for (const p of kind.check?.(audit, { sensitive: spec.sensitive }) ?? []) problems.push(`  audits.${i}.${p.field}: ${p.message}`);
  });
  spec.intersections.forEach((combo, i) => {
    const unknown = combo.filter((a) => !spec.sensitive.includes(a));
    if (unknown.length > 0) problems.push(`  intersections.${i}: expected attributes among sensitive (${spec.sensitive.join(', ')}) but received ${unknown.join(', ')}. Example: sensitive: [${[...new Set([...spec.sensitive, ...unknown])].join(', ')}] with intersections: [[${combo.join(', ')}]]`);
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
  const bytes = await readInputFile(path, { what: 'the audit spec', maxBytes: MAX_CONFIG_BYTES });
  let document: unknown;
  try {
    document = path.endsWith('.json') ? JSON.parse(bytes.toString('utf8')) : parseYaml(bytes.toString('utf8'));
  } catch (error) {
    throw new VigilInputError(`Audit spec ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${errorMessage(error)}`, { subject: path });
  }
  return validateSpec(document, path, dirname(resolve(path)), sha256Hex(bytes));
}
