import { describe, expect, it } from 'vitest';
import { AUDIT_KINDS, auditKind } from '../../src/bias/registry.js';
import { validateSpec } from '../../src/bias/spec.js';

describe('audit registry', () => {
  it('holds each kind once, with metadata and a strict entry schema keyed by its kind', () => {
    const kinds = AUDIT_KINDS.map((k) => k.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(kinds).toEqual(expect.arrayContaining(['zero-shot', 'classification', 'retrieval', 'association', 'reconstruction', 'predictions']));
    for (const kind of AUDIT_KINDS) {
      expect(kind.title.length).toBeGreaterThan(0);
      expect(kind.description.length).toBeGreaterThan(0);
      const wrongKind = kind.parameters.safeParse({ kind: 'no-such-kind' });
      expect(wrongKind.success).toBe(false);
      const extra = kind.parameters.safeParse({ kind: kind.kind, not_a_field: 1 });
      expect(extra.success).toBe(false);
    }
    expect(() => auditKind('detection-that-is-not-registered')).toThrow(/registered: zero-shot/);
  });

  it('derives the model and probe-set requirements of a spec from the kinds', () => {
    expect(() => validateSpec({ name: 'x', sensitive: ['g'], audits: [{ kind: 'reconstruction' }] }, 'spec.yaml', '.', '0')).toThrow(
      /model: audit kind reconstruction \(audits\.0\) needs a model folder \(mae\)[\s\S]*probe_set: audit kind reconstruction/,
    );
    expect(() => validateSpec({ name: 'x', sensitive: ['g'], audits: [{ kind: 'predictions', file: 'p.csv', prediction: 'p' }] }, 'spec.yaml', '.', '0')).not.toThrow();
  });
});
