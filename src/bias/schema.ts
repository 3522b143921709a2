/**
 * The spec's zod schemas as JSON Schema (`vigil bias schema [kind]`) and the spec-field reference in
 * docs/bias.md generated from them (tests/bias/schema.test.ts fails when the two drift). Spec errors
 * quote the same per-field descriptions (spec.ts, describeIssues).
 */
import { z } from 'zod';
import { AUDIT_KINDS, auditKind } from './registry.js';
import { specSchema } from './spec.js';

/** JSON Schema (draft 2020-12) of a whole spec, or of one audit kind's entry. Describes input: defaulted fields are optional. */
export function specJsonSchema(kind?: string): Record<string, unknown> {
  const schema = kind === undefined ? specSchema : auditKind(kind).parameters;
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

interface Field {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
}

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; required?: string[]; items?: JsonSchema; enum?: unknown[]; const?: unknown; anyOf?: JsonSchema[]; oneOf?: JsonSchema[]; additionalProperties?: JsonSchema | boolean; default?: unknown; description?: string };

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  const options = s.anyOf ?? s.oneOf;
  if (options) return options.map(typeOf).join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'values'}`;
  if (s.type === 'object') return s.properties ? 'object' : `map of ${typeof s.additionalProperties === 'object' ? typeOf(s.additionalProperties) : 'values'}`;
  return Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
}

function fields(s: JsonSchema): Field[] {
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {}).map(([name, p]) => ({
    name,
    type: typeOf(p),
    required: required.has(name),
    ...(p.default !== undefined ? { default: p.default } : {}),
    description: p.description ?? '',
  }));
}

function table(rows: Field[]): string[] {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '| field | type | required | default | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((f) => `| \`${f.name}\` | ${cell(f.type).replace(/\\\\\|/g, '\\|')} | ${f.required ? 'yes' : 'no'} | ${f.default === undefined ? '' : `\`${JSON.stringify(f.default)}\``} | ${cell(f.description)} |`),
  ];
}

/** The spec-field reference (Markdown) that docs/bias.md embeds between its spec-reference markers. */
export function specReferenceMarkdown(): string {
  const top = specJsonSchema() as JsonSchema;
  const out = ['### Top-level fields', '', ...table(fields(top))];
  const probe = top.properties?.probe_set;
  if (probe?.properties) out.push('', '### `probe_set`', '', ...table(fields(probe)));
  const thresholdObject = (top.properties?.thresholds?.items?.anyOf ?? []).find((o) => o.type === 'object');
  if (thresholdObject) out.push('', '### `thresholds` entries (as objects)', '', ...table(fields(thresholdObject)));
  for (const kind of AUDIT_KINDS) {
    const req = kind.requires;
    const needs = [req.models.length > 0 ? `a ${req.models.join(' or ')} model` : 'no model', req.probeSet ? 'a probe set' : 'no probe set', ...(req.groundTruth ? ['ground truth'] : [])].join(', ');
    out.push('', `### \`audits\` entry, kind \`${kind.kind}\`: ${kind.title}`, '', `${kind.description} Needs ${needs}.`, '', ...table(fields(specJsonSchema(kind.kind) as JsonSchema)));
  }
  return `${out.join('\n')}\n`;
}

