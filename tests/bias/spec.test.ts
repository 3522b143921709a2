import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec, validateSpec } from '../../src/bias/spec.js';
import { evaluateThresholds, judge, overallVerdict, parseThreshold } from '../../src/bias/thresholds.js';
import type { AuditResult, FeatureResult } from '../../src/bias/result.js';

const base = {
  name: 'demo',
  model: 'fixtures/models/clip',
  probe_set: { path: 'fixtures/probes/planted' },
  sensitive: ['gender'],
  audits: [{ kind: 'zero-shot', labels: ['doctor', 'nurse'] }],
};

function errorOf(document: unknown): string {
  try {
    validateSpec(document, 'spec.yaml', '/tmp', 'x');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the spec to be rejected');
}

describe('audit spec validation', () => {
  it('applies defaults', () => {
    const { spec } = validateSpec(base, 'spec.yaml', '/tmp', 'x');
    expect(spec).toMatchObject({ seed: 0, n_boot: 1000, min_group_size: 30, ci_level: 0.95, device: 'cpu' });
    expect(spec.audits[0]).toMatchObject({ templates: ['a photo of a {label}.'], harmful_labels: [] });
  });

  it('names every wrong field with its path', () => {
    const message = errorOf({ ...base, n_boot: 'many', seed: 1.5, audits: [{ kind: 'zero-shot', labels: 'doctor' }, { kind: 'nope' }] });
    expect(message).toMatch(/^spec\.yaml is not a valid audit spec:/);
    expect(message).toMatch(/n_boot: .*number/i);
    expect(message).toMatch(/seed: .*int/i);
    expect(message).toMatch(/audits\.0\.labels: .*array/i);
    expect(message).toMatch(/audits\.1\.kind/);
  });

  it('rejects unknown keys, bad templates, unknown harmful labels and bad thresholds', () => {
    expect(errorOf({ ...base, sensitve: ['x'] })).toMatch(/sensitve/);
    const message = errorOf({
      ...base,
      intersections: [['gender', 'race']],
      audits: [{ kind: 'zero-shot', labels: ['a', 'b'], templates: ['a photo'], harmful_labels: ['c'] }],
      thresholds: ['demographic_parity_ratio >= 0.8', 'fairness >= 1', { check: 'max_skew <= 0.3' }],
    });
    expect(message).toMatch(/audits\.0\.templates\.0: expected a template containing \{label\} \(e\.g\. .*\) but received "a photo"/);
    expect(message).toMatch(/audits\.0\.harmful_labels: expected labels among labels \(a, b\) but received c/);
    expect(message).toMatch(/intersections\.0: expected attributes among sensitive \(gender\) but received race\. Example: sensitive: \[gender, race\]/);
    expect(message).toMatch(/thresholds\.1: unknown metric "fairness"/);
    expect(message).toMatch(/thresholds\.2: max_skew needs a cutoff/);
    expect(message).not.toMatch(/thresholds\.0/);
  });

  it('model audits need a model; predictions audits do not', () => {
    expect(errorOf({ ...base, model: undefined })).toMatch(/model: audit kind zero-shot/);
    expect(() => validateSpec({ name: 'p', sensitive: ['g'], audits: [{ kind: 'predictions', file: 'p.csv', prediction: 'yhat' }] }, 's', '/tmp', 'x')).not.toThrow();
  });

  it('reports YAML syntax errors with the file name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-spec-'));
    await writeFile(join(dir, 'bad.yaml'), 'name: [unclosed\n');
    await expect(loadSpec(join(dir, 'bad.yaml'))).rejects.toThrow(/bad\.yaml is not valid YAML/);
  });
});

describe('thresholds', () => {
  it('parses metric, cutoff, target and operator', () => {
    expect(parseThreshold({ check: 'ndkl@50:proportional <= 0.1' })).toMatchObject({ metric: 'ndkl', k: 50, target: 'proportional', op: '<=', bound: 0.1 });
    expect(parseThreshold({ check: 'demographic_parity_ratio>=0.8' })).toMatchObject({ metric: 'demographic_parity_ratio', op: '>=', bound: 0.8 });
    expect(() => parseThreshold({ check: 'accuracy >= 0.8', warn: 0.7 })).toThrow(/stricter/);
  });

  it('judges pass, fail and inconclusive from the interval, not the point estimate', () => {
    const t = parseThreshold({ check: 'demographic_parity_ratio >= 0.8', warn: 0.9 });
    expect(judge(0.95, [0.91, 0.99], t).status).toBe('pass');
    expect(judge(0.95, [0.78, 0.99], t)).toMatchObject({ status: 'inconclusive', reason: '0.950 [0.780, 0.990] straddles ≥ 0.800' });
    // Within the warn margin but the whole interval passes: a pass that says so.
    expect(judge(0.85, [0.81, 0.89], t)).toMatchObject({ status: 'pass', reason: expect.stringMatching(/warn margin/) });
    // The point estimate fails but the interval straddles the bound: not a fail.
    expect(judge(0.79, [0.7, 0.85], t).status).toBe('inconclusive');
    expect(judge(0.6, [0.5, 0.75], t)).toMatchObject({ status: 'fail', reason: expect.stringMatching(/whole interval violates/) });
    // The case: one positive prediction in 100 gives 0.000 [0.000, 1.000].
    expect(judge(0, [0, 1], t).status).toBe('inconclusive');
    expect(judge(null, null, t).status).toBe('inconclusive');
    expect(judge(0.95, [null, null], t).status).toBe('inconclusive');
    // A pass the evidence cannot extend to every group.
    expect(judge(0.95, [0.91, 0.99], t, { caveats: ['group x (3) is under min_group_size'] }).status).toBe('inconclusive');
  });

  it('fails on a significant point-estimate violation only when the threshold asks for it', () => {
    const interval = parseThreshold({ check: 'accuracy_difference <= 0.1' });
    const significant = parseThreshold({ check: 'accuracy_difference <= 0.1', fail_on: 'significant' });
    expect(judge(0.15, [0.05, 0.25], interval, { pHolm: 0.001 }).status).toBe('inconclusive');
    expect(judge(0.15, [0.05, 0.25], significant, { pHolm: 0.0001 })).toMatchObject({ status: 'fail', reason: expect.stringMatching(/significant \(p Holm < 0\.001/) });
    expect(judge(0.15, [0.05, 0.25], significant, { pHolm: 0.2 })).toMatchObject({ status: 'inconclusive', reason: expect.stringMatching(/not significant/) });
    expect(judge(0.15, [0.05, 0.25], significant, {}).reason).toMatch(/no test covers/);
    // Differences of rates read in percentage points, as everywhere in the report (src/core/metric-meta.ts).
    expect(judge(0.15, [0.05, 0.25], interval).reason).toBe('15.0 pts [5.0, 25.0] pts straddles ≤ 10.0 pts');
  });

  it('is not judged without thresholds', () => {
    expect(overallVerdict([])).toBe('not_judged');
  });

  it('judges per-group metrics on the worst eligible group and ignores small groups', () => {
    const metric = (value: number) => ({ value, ci: [value - 0.01, value + 0.01] as [number, number] });
    const feature = {
      attribute: 'gender',
      groups: [
        { name: 'a', count: 50, share: 0.49, insufficient_data: false },
        { name: 'b', count: 50, share: 0.49, insufficient_data: false },
        { name: 'c', count: 3, share: 0.02, insufficient_data: true },
      ],
      eligible_groups: ['a', 'b'],
      tests: [],
      by_group: { a: { count: 50, accuracy: metric(0.9) }, b: { count: 50, accuracy: metric(0.75) }, c: { count: 3, accuracy: metric(0.1) } },
      disparities: {},
    } as unknown as FeatureResult;
    const audit = { id: 'cls', kind: 'classification', features: [feature] } as unknown as AuditResult;
    const verdicts = evaluateThresholds([parseThreshold({ check: 'accuracy >= 0.7' }), parseThreshold({ check: 'accuracy >= 0.8' })], [audit]);
    // Group c (3 images) is under min_group_size: a pass cannot cover it.
    expect(verdicts.map((v) => [v.status, v.scope, v.value])).toEqual([
      ['inconclusive', 'b', 0.75],
      ['fail', 'b', 0.75],
    ]);
    expect(verdicts[0].reason).toMatch(/c \(3\) are under min_group_size/);
    expect(overallVerdict(verdicts)).toBe('fail');
    const missing = evaluateThresholds([parseThreshold({ check: 'equalized_odds_ratio >= 0.8' })], [audit]);
    expect(missing[0]).toMatchObject({ status: 'inconclusive', reason: expect.stringMatching(/no audit computed/) });
  });
});
