/**
 * Nothing silent in a predictions audit: how labels are read (numeric strings as numbers, binary
 * only with two labels or a named positive, a third value is an error), every excluded group,
 * undefined rate and dropped row listed, k above the rows an error, equalized odds' agg, and the
 * not-judged verdict with its exit code.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { choosePositive, labelClasses } from '../../src/bias/audits/predictions.js';
import { runBias } from '../../src/bias/run.js';
import { validateSpec } from '../../src/bias/spec.js';
import type { BiasResult } from '../../src/bias/result.js';

let dir: string;

async function csv(name: string, header: string, rows: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${[header, ...rows].join('\n')}\n`);
  return path;
}

async function audit(file: string, audit: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<BiasResult> {
  const spec = validateSpec({ name: 't', sensitive: ['g'], n_boot: 100, min_group_size: 5, audits: [{ kind: 'predictions', file, ...audit }], ...extra }, 'test', dir, '');
  return (await runBias(spec, { quiet: true })).result;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-labels-'));
});

describe('label vocabulary', () => {
  it('reads numeric strings as numbers, so 0.0/1.0 are the labels 0 and 1', () => {
    const { classes, classOf } = labelClasses([{ levels: ['1.0', '0.0'] }, { levels: ['0', '1'] }]);
    expect(classes).toEqual(['0', '1']);
    expect([...classOf[0]]).toEqual([1, 0]);
    expect(choosePositive(classes, { id: 'p' })).toEqual(['1']);
  });

  it('needs exactly two labels, a named positive, or multiclass', () => {
    expect(() => choosePositive(['0', '1', '2'], { id: 'p' })).toThrow(/the labels take 3 values \(0, 1, 2\).*--pos-label.*--multiclass/);
    expect(choosePositive(['0', '1', '2'], { id: 'p', positive_labels: ['2'] })).toEqual(['2']);
    expect(choosePositive(['0', '1', '2'], { id: 'p', multiclass: true })).toBeUndefined();
    expect(() => choosePositive(['cat', 'dog'], { id: 'p' })).toThrow(/cannot tell which of the labels cat, dog is positive/);
    expect(() => choosePositive(['0', '1'], { id: 'p', positive_labels: ['yes'] })).toThrow(/positive label\(s\) yes are not among the labels 0, 1/);
    expect(choosePositive(['0', '1'], { id: 'p', positive_labels: ['1.0'] })).toEqual(['1']);
  });

  it('gives the same audit for 0/1 and 0.0/1.0 labels (pandas float columns)', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => [i % 2 ? 'a' : 'b', i % 3 === 0 ? 1 : 0, i % 5 === 0 ? 1 : 0] as const);
    const ints = await csv('ints.csv', 'g,y,yhat', rows.map(([g, y, p]) => `${g},${y},${p}`));
    const floats = await csv('floats.csv', 'g,y,yhat', rows.map(([g, y, p]) => `${g},${y}.0,${p}.0`));
    const a = await audit(ints, { label: 'y', prediction: 'yhat' });
    const b = await audit(floats, { label: 'y', prediction: 'yhat' });
    expect(b.audits[0].features[0].disparities.demographic_parity_ratio).toEqual(a.audits[0].features[0].disparities.demographic_parity_ratio);
    expect(a.audits[0].disclosure.positive_labels).toEqual(['1']);
  });

  it('stops on a third label value instead of switching to multiclass', async () => {
    const file = await csv('three.csv', 'g,yhat', Array.from({ length: 30 }, (_, i) => `${i % 2 ? 'a' : 'b'},${i % 3}`));
    await expect(audit(file, { prediction: 'yhat' })).rejects.toThrow(/3 values \(0, 1, 2\)/);
    const multi = await audit(file, { prediction: 'yhat', multiclass: true });
    expect(multi.audits[0].features[0].by_group.a.selection_rate_by_label).toBeDefined();
  });
});

describe('exclusions', () => {
  it('lists small groups, undefined rates and dropped rows with their reasons', async () => {
    const rows: string[] = [];
    for (let i = 0; i < 40; i++) rows.push(`a,${i % 2},${i % 3 === 0 ? 1 : 0},${i / 40}`);
    for (let i = 0; i < 40; i++) rows.push(`b,0,${i % 4 === 0 ? 1 : 0},${i / 80}`); // no positives: TPR undefined
    for (let i = 0; i < 3; i++) rows.push(`c,1,1,0.5`); // under min_group_size
    rows.push('a,1,1,not-a-number');
    rows.push(',1,1,0.2');
    const file = await csv('excl.csv', 'g,y,yhat,s', rows);
    const result = await audit(file, { label: 'y', prediction: 'yhat', score: 's', k: [10] });
    const kinds = result.exclusions.map((e) => [e.what, e.group ?? null, e.metric ?? null]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['rows', null, null],
        ['group', 'c', null],
        ['rate', 'b', 'tpr'],
      ]),
    );
    const rowReasons = result.exclusions.filter((e) => e.what === 'rows').map((e) => e.reason);
    expect(rowReasons.some((r) => /column "s": expected a finite number \(line 85\)/.test(r))).toBe(true);
    expect(rowReasons.some((r) => /column "g": empty value/.test(r))).toBe(true);
    expect(result.exclusions.find((e) => e.metric === 'tpr')?.reason).toMatch(/no ground-truth positives/);
    expect(result.limitations.some((l) => /excluded rate g=b tpr/.test(l))).toBe(true);
  });

  it('refuses k above the number of rows', async () => {
    const file = await csv('small.csv', 'g,s', Array.from({ length: 12 }, (_, i) => `${i % 2 ? 'a' : 'b'},${i}`));
    await expect(audit(file, { score: 's', k: [10, 50] })).rejects.toThrow(/k = 50 exceeds the 12 observations/);
  });
});

describe('equalized odds aggregation (Fairlearn agg)', () => {
  it('worst_case is the larger TPR/FPR difference, mean their mean', async () => {
    const rows: string[] = [];
    // group a: TPR 0.8, FPR 0.1; group b: TPR 0.5, FPR 0.3 (20 positives and 20 negatives each).
    for (const [g, tp, fp] of [['a', 16, 2], ['b', 10, 6]] as const) {
      for (let i = 0; i < 20; i++) rows.push(`${g},1,${i < tp ? 1 : 0}`);
      for (let i = 0; i < 20; i++) rows.push(`${g},0,${i < fp ? 1 : 0}`);
    }
    const file = await csv('eo.csv', 'g,y,yhat', rows);
    const worst = await audit(file, { label: 'y', prediction: 'yhat' });
    const mean = await audit(file, { label: 'y', prediction: 'yhat' }, { equalized_odds_agg: 'mean' });
    expect(worst.audits[0].features[0].disparities.equalized_odds_difference.value).toBeCloseTo(0.3, 12);
    expect(mean.audits[0].features[0].disparities.equalized_odds_difference.value).toBeCloseTo((0.3 + 0.2) / 2, 12);
    expect(mean.audits[0].features[0].disparities.equalized_odds_ratio.value).toBeCloseTo((0.5 / 0.8 + 0.1 / 0.3) / 2, 12);
    expect(mean.settings.equalized_odds_agg).toBe('mean');
  });
});

describe('vigil bias exit codes by verdict', () => {
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bias', ...args]).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('is not judged (exit 4) without thresholds and inconclusive (exit 3) on a straddling interval', async () => {
    const rows: string[] = [];
    for (let i = 0; i < 100; i++) rows.push(`female,${i < 1 ? 1 : 0}`);
    for (let i = 0; i < 100; i++) rows.push(`male,${i < 5 ? 1 : 0}`);
    const file = await csv('sparse.csv', 'gender,yhat', rows);
    const none = await run(['--predictions', file, '--sensitive', 'gender', '--pred', 'yhat', '--n-boot', '200', '--json']);
    expect(none.code).toBe(4);
    expect((JSON.parse(none.stdout) as BiasResult).verdict).toBe('not_judged');
    const sparse = await run(['--predictions', file, '--sensitive', 'gender', '--pred', 'yhat', '--n-boot', '200', '--threshold', 'demographic_parity_ratio >= 0.8', '--out', join(dir, 'sparse-out'), '--no-report']);
    expect(sparse.code).toBe(3);
    expect(sparse.stdout).toMatch(/INCONCLUSIVE +demographic_parity_ratio >= 0\.8 .*straddles/);
    expect(sparse.stdout).toMatch(/verdict: INCONCLUSIVE/);
  });
});
