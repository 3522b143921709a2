/** The spec reference in docs/bias.md is generated from the zod schemas and must not drift from them. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { AUDIT_KINDS } from '../../src/bias/registry.js';
import { specJsonSchema, specReferenceMarkdown } from '../../src/bias/schema.js';
import { validateSpec } from '../../src/bias/spec.js';

const START = '<!-- spec-reference:start -->';
const END = '<!-- spec-reference:end -->';

describe('spec schema', () => {
  it('docs/bias.md holds the generated field reference (refresh: vigil bias schema --markdown)', async () => {
    const doc = await readFile('docs/bias.md', 'utf8');
    const start = doc.indexOf(START);
    const end = doc.indexOf(END);
    expect(start).toBeGreaterThan(0);
    expect(doc.slice(start + START.length, end).trim(), 'docs/bias.md spec reference is stale: paste the output of `vigil bias schema --markdown` between its markers').toBe(
      specReferenceMarkdown().trim(),
    );
  });

  it('exports JSON Schema for the spec and each kind, every field described with an example', () => {
    const top = specJsonSchema() as { properties: Record<string, { description?: string }> };
    for (const [name, field] of Object.entries(top.properties)) expect(field.description, name).toMatch(/Example: /);
    for (const kind of AUDIT_KINDS) {
      const schema = specJsonSchema(kind.kind) as { properties: Record<string, { description?: string; const?: string }> };
      expect(schema.properties.kind.const).toBe(kind.kind);
      for (const [name, field] of Object.entries(schema.properties)) {
        if (name === 'kind' || name === 'id') continue;
        expect(field.description, `${kind.kind}.${name}`).toMatch(/Example: /);
      }
    }
    expect(Object.keys((specJsonSchema('classification') as { properties: object }).properties)).toContain('predictor');
  });

  it('names the field path, what was expected and an example in every spec error', () => {
    const error = (document: unknown): string => {
      try {
        validateSpec(document, 'spec.yaml', '.', '0');
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    const association = error({ name: 'x', sensitive: ['gender'], model: 'm', probe_set: { path: 'p' }, audits: [{ kind: 'association', attribute: 'gender', x_group: 'a', y_group: 'b' }] });
    expect(association).toMatch(/audits\.0\.concepts: Invalid input: expected record, received undefined\. Exactly two named concept prompt sets, A then B\. Example: \{career: /);
    const unknown = error({ name: 'x', sensitive: ['g'], colour: 1, audits: [{ kind: 'predictions', file: 'f', prediction: 'p' }] });
    expect(unknown).toMatch(/\(root\): Unrecognized key: "colour"; expected only name, description, model/);
    const kind = error({ name: 'x', sensitive: ['g'], audits: [{ kind: 'predictionz', file: 'f' }] });
    expect(kind).toMatch(/audits\.0\.kind: .*Example: kind: /);
    const type = error({ name: 'x', sensitive: 'g', audits: [{ kind: 'predictions', file: 'f', prediction: 'p' }] });
    expect(type).toMatch(/sensitive: Invalid input: expected array, received string\. .* Example: \[gender, race\]/);
    // predictor is shown in the report's parameters, so a spec may set it.
    expect(error({ name: 'x', sensitive: ['g'], model: 'm', probe_set: { path: 'p' }, audits: [{ kind: 'classification', predictor: 'vit' }] })).toBe('');
  });
});
