import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeBiasOutputs } from '../../src/bias/output.js';
import type { BiasResult } from '../../src/bias/result.js';
import { runBias } from '../../src/bias/run.js';
import { validateSpec } from '../../src/bias/spec.js';
import { SeededRandom } from '../../src/core/random.js';

const run = promisify(execFile);
let dir: string;
let csvPath: string;
const rows: { gender: string; race: string; y: number; yhat: number; s: number }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-preds-'));
  // Planted: selection rate 0.3 for women, 0.6 for men (demographic parity difference 0.3);
  // race has no effect. Men score higher, so they crowd the top of the ranking.
  const rng = new SeededRandom(2024);
  for (let i = 0; i < 1200; i++) {
    const gender = i % 2 === 0 ? 'female' : 'male';
    const race = ['A', 'B', 'C'][rng.int(3)];
    const y = rng.int(2);
    const yhat = rng.next() < (gender === 'female' ? 0.3 : 0.6) ? 1 : 0;
    const s = rng.next() + (gender === 'male' ? 0.5 : 0);
    rows.push({ gender, race, y, yhat, s });
  }
  const lines = ['file,gender,race,y,yhat,s', ...rows.map((r, i) => `${i === 0 ? '"=HYPERLINK(""x"")"' : `img${i}.jpg`},${r.gender},${r.race},${r.y},${r.yhat},${r.s}`)];
  lines.push('bad.jpg,,A,1,1,0.2');
  csvPath = join(dir, 'preds.csv');
  await writeFile(csvPath, `${lines.join('\n')}\n`);
});

function spec(extra: Record<string, unknown> = {}) {
  return validateSpec(
    {
      name: 'planted',
      sensitive: ['gender', 'race'],
      intersections: [['gender', 'race']],
      n_boot: 300,
      seed: 7,
      audits: [{ kind: 'predictions', file: csvPath, label: 'y', prediction: 'yhat', score: 's', k: [10, 100] }],
      thresholds: ['demographic_parity_ratio >= 0.8'],
      ...extra,
    },
    'test',
    dir,
    '',
  );
}

describe('predictions audit', () => {
  let result: BiasResult;
  beforeAll(async () => {
    result = (await runBias(spec(), { quiet: true })).result;
  });

  it('uses Fairlearn metric keys with {value, ci} objects', () => {
    const gender = result.audits[0].features[0];
    for (const key of ['selection_rate', 'accuracy', 'tpr', 'fpr'] as const) {
      expect(gender.by_group.female[key]).toEqual({ value: expect.any(Number), ci: [expect.any(Number), expect.any(Number)] });
    }
    expect(gender.by_group.female.count).toBe(600);
    for (const key of ['demographic_parity_difference', 'demographic_parity_ratio', 'equalized_odds_difference', 'equalized_odds_ratio']) {
      expect(gender.disparities[key]).toMatchObject({ value: expect.any(Number), ci: [expect.any(Number), expect.any(Number)] });
    }
    for (const target of ['uniform', 'proportional'] as const) {
      for (const key of ['max_skew', 'min_skew', 'ndkl'] as const) {
        expect(gender.skew?.s['100'][target][key]).toMatchObject({ value: expect.any(Number), ci: [expect.any(Number), expect.any(Number)] });
      }
    }
    expect(result.audits[0].features.map((f) => f.attribute)).toEqual(['gender', 'race', 'gender × race']);
  });

  it('matches independently computed rates and finds the planted gap', () => {
    const rate = (g: string) => rows.filter((r) => r.gender === g && r.yhat === 1).length / rows.filter((r) => r.gender === g).length;
    const gender = result.audits[0].features[0];
    expect(gender.by_group.male.selection_rate?.value).toBeCloseTo(rate('male'), 12);
    const dp = gender.disparities.demographic_parity_difference;
    expect(dp.value).toBeCloseTo(rate('male') - rate('female'), 12);
    expect(dp.groups).toEqual(['male', 'female']);
    // The population gap is 0.3: the interval contains it and excludes 0.
    expect(dp.ci[0]!).toBeGreaterThan(0);
    expect(dp.ci[0]!).toBeLessThan(0.3);
    expect(dp.ci[1]!).toBeGreaterThan(0.3);
    // Men outscore women, so the top 100 is male-heavy.
    expect(gender.skew?.s['100'].uniform.max_skew.group).toBe('male');
    expect(gender.skew?.s['100'].uniform.max_skew.value).toBeGreaterThan(0.4);
    const test = gender.tests.find((t) => t.metric === 'selection_rate');
    expect(test?.significant).toBe(true);
  });

  it('fails the four-fifths rule on gender only, and records the bad row', () => {
    const byAttribute = Object.fromEntries(result.verdicts.map((v) => [v.attribute, v.status]));
    expect(byAttribute.gender).toBe('fail');
    expect(byAttribute.race).not.toBe('fail');
    expect(result.verdict).toBe('fail');
    expect(result.predictions?.problems).toEqual([{ line: 1202, column: 'gender', value: '', message: 'empty value in column "gender"' }]);
    expect(result.settings).toMatchObject({ seed: 7, n_boot: 300, min_group_size: 30 });
    expect(result.limitations.length).toBeGreaterThan(2);
  });

  it('is reproducible from the seed', async () => {
    const again = (await runBias(spec(), { quiet: true })).result;
    expect(again.audits).toEqual(result.audits);
  });

  it('writes results.json and a formula-safe observations.csv', async () => {
    const { result: r, observations } = await runBias(spec(), { quiet: true });
    const paths = await writeBiasOutputs(join(dir, 'out'), r, observations);
    const csv = await readFile(paths.observations, 'utf8');
    expect(csv.split('\n')[0]).toBe('audit,file,sha256,gender,race,truth,prediction,score,score[s]');
    expect(csv).toContain(`"'=HYPERLINK(""x"")"`);
    expect(JSON.parse(await readFile(paths.results, 'utf8')).schema).toBe('vigil/bias');
  });
});

describe('vigil bias --predictions', () => {
  const cli = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bias', ...args], { cwd: process.cwd() }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('prints the document with --json and exits 1 on a failed threshold', async () => {
    const out = join(dir, 'cli-out');
    const r = await cli(['--predictions', csvPath, '--sensitive', 'gender', '--label', 'y', '--pred', 'yhat', '--score', 's', '--k', '10,50', '--n-boot', '100', '--threshold', 'demographic_parity_ratio >= 0.8', '--json', '--out', out]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as BiasResult;
    expect(doc.verdict).toBe('fail');
    expect(Object.keys(doc.audits[0].features[0].skew?.s ?? {})).toEqual(['10', '50']);
    expect(existsSync(join(out, 'results.json'))).toBe(true);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  });

  it('exits 2 naming a missing column, writing nothing', async () => {
    const out = join(dir, 'never');
    const r = await cli(['--predictions', csvPath, '--sensitive', 'sex', '--pred', 'yhat', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has no column\(s\) sex; its columns are "file", "gender", "race", "y", "yhat", "s"/);
    // --out is checked (and created) before any work; nothing is written into it.
    expect(existsSync(join(out, 'results.json'))).toBe(false);
    expect(existsSync(join(out, 'observations.csv'))).toBe(false);
  });
});
