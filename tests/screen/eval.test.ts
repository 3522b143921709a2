import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, resolveGenerators } from '../../src/screen/eval.js';
import { METRIC_KEYS } from '../../src/screen/metrics.js';
import { saveProbe } from '../../src/screen/probe.js';
import { createScreener, type Screener } from '../../src/screen/screener.js';
import { trainProbe } from '../../src/screen/train.js';
import { EvalScores, SCORES_COLUMNS, SCORES_FILE } from '../../src/screen/scores.js';
import { evalCurves } from '../../src/report/modules/screen-curves.js';
import { HELDOUT_FAKE, HELDOUT_REAL, TRAIN_FAKE, TRAIN_REAL, tempDir } from './helpers.js';

let cleanup: () => Promise<void>;
let tmpDir: string;
let crossScreener: Screener;
let fullScreener: Screener;
const bootstrap = { resamples: 200, confidence: 0.95, seed: 0 };

beforeAll(async () => {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  tmpDir = tmp.dir;
  const common = { seed: 0, folds: 5, targetFpr: 0.01, uncertainFpr: 0.1, maeMasks: 2 };
  // Cross-generator protocol: train on tconv only, test on both generators.
  const crossPath = join(tmp.dir, 'tconv-only.json');
  await saveProbe(crossPath, await trainProbe({ realDirs: [TRAIN_REAL], fakeDirs: [join(TRAIN_FAKE, 'tconv')], ...common }));
  crossScreener = await createScreener({ probePath: crossPath });
  const fullPath = join(tmp.dir, 'full.json');
  await saveProbe(fullPath, await trainProbe({ realDirs: [TRAIN_REAL], fakeDirs: [TRAIN_FAKE], ...common }));
  fullScreener = await createScreener({ probePath: fullPath });
});

afterAll(async () => {
  await crossScreener?.release();
  await fullScreener?.release();
  await cleanup?.();
});

describe('vigil screen eval', () => {
  it('names generators by folder, by subfolder, and skips split names', async () => {
    expect((await resolveGenerators([HELDOUT_FAKE])).map((g) => g.name)).toEqual(['nnconv', 'tconv']);
    expect((await resolveGenerators([join(HELDOUT_FAKE, 'tconv'), join(TRAIN_FAKE, 'nnconv')])).map((g) => [g.name, g.files.length])).toEqual([
      ['tconv', 50],
      ['nnconv', 50],
    ]);
    await expect(resolveGenerators([join(HELDOUT_FAKE, 'nope')])).rejects.toThrow(/--fake .*nope: cannot read folder/);
  });

  it('cross-generator: a probe trained on tconv is measured per generator with every metric key and CIs', async () => {
    const results = await evaluate(crossScreener, { realDirs: [HELDOUT_REAL], fakeDirs: [HELDOUT_FAKE], robustness: false, bootstrap });
    expect(results.schema).toBe('vigil/screen-eval');
    expect(results.dataset.generators.map((g) => g.name)).toEqual(['nnconv', 'tconv']);
    const [condition] = results.conditions;
    expect(condition.perturbation).toBe('none');
    expect(condition.groups.map((g) => g.generator)).toEqual(['all', 'nnconv', 'tconv']);
    for (const group of condition.groups) {
      for (const scorer of ['spectral', 'metadata', 'fused'] as const) {
        const m = group.scorers[scorer]!;
        expect(Object.keys(m.metrics).sort()).toEqual([...METRIC_KEYS].sort());
        for (const key of METRIC_KEYS) {
          expect(m.metrics[key].ci[0]).toBeLessThanOrEqual(m.metrics[key].value + 1e-12);
          expect(m.metrics[key].ci[1]).toBeGreaterThanOrEqual(m.metrics[key].value - 1e-12);
        }
      }
    }
    const tconv = condition.groups.find((g) => g.generator === 'tconv')!;
    expect(tconv.scorers.spectral!.metrics.auc.value).toBeGreaterThan(0.95); // the generator it was trained on
    expect(tconv.fake).toBe(50);
    expect(condition.groups.find((g) => g.generator === 'nnconv')!.scorers.fused!.metrics.auc.value).toBeGreaterThan(0.5);
  });

  it('thresholds set for the target FPR on training folds hold on held-out real images within their CI', async () => {
    const results = await evaluate(fullScreener, { realDirs: [HELDOUT_REAL], fakeDirs: [HELDOUT_FAKE], robustness: false, bootstrap });
    const fused = results.conditions[0].groups[0].scorers.fused!;
    expect(fused.threshold).toBe(fullScreener.probe.fusion.subsets.find((s) => s.signals.length === fullScreener.signals.length)!.thresholds.likelySynthetic);
    // the observed held-out FPR is consistent with the 1% target: the target is not below its CI
    expect(fused.metrics.fpr_at_threshold.ci[0]).toBeLessThanOrEqual(fullScreener.probe.fusion.targetFpr);
    expect(fused.metrics.fpr_at_threshold.value).toBeLessThanOrEqual(0.05);
    expect(fused.metrics.auc.value).toBeGreaterThan(0.95);
  });

  it('the robustness sweep re-scores under every perturbation and resizing hurts the spectral signal', async () => {
    const results = await evaluate(fullScreener, {
      realDirs: [HELDOUT_REAL],
      fakeDirs: [join(HELDOUT_FAKE, 'tconv')],
      robustness: true,
      bootstrap: { ...bootstrap, resamples: 50 },
    });
    expect(results.conditions.map((c) => c.perturbation)).toEqual(['none', 'jpeg-q90', 'jpeg-q75', 'jpeg-q50', 'resize-0.5', 'crop-0.9', 'blur-1']);
    expect(results.errors).toEqual([]);
    const auc = (id: string) => results.conditions.find((c) => c.perturbation === id)!.groups[0].scorers.spectral!.metrics.auc.value;
    expect(auc('resize-0.5')).toBeLessThan(auc('none') - 0.1);
    // re-encoding strips metadata: the metadata signal falls to chance
    expect(results.conditions.find((c) => c.perturbation === 'jpeg-q90')!.groups[0].scorers.metadata!.metrics.auc.value).toBe(0.5);
  });

  it('scores.csv has one row per file and condition in the columns the report reads, and the report draws its curves from it', async () => {
    const real = join(tmpDir, 'scores-real');
    const fake = join(tmpDir, 'scores-fake', 'tconv');
    for (const [from, to] of [[HELDOUT_REAL, real], [join(HELDOUT_FAKE, 'tconv'), fake]]) {
      await mkdir(to, { recursive: true });
      for (const name of (await readdir(from)).sort().slice(0, 4)) await copyFile(join(from, name), join(to, name));
    }
    const scores = new EvalScores();
    const results = await evaluate(fullScreener, { realDirs: [real], fakeDirs: [fake], robustness: true, bootstrap: { ...bootstrap, resamples: 20 }, onResult: scores.record });
    const out = join(tmpDir, 'scores-out');
    expect(await scores.write(out)).toBe(join(out, SCORES_FILE));
    const rows = parse(await readFile(join(out, SCORES_FILE), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0])).toEqual(['perturbation', 'file', 'label', 'generator', 'fused', 'spectral', 'residual', 'clip-probe', 'mae-recon', 'metadata', 'verdict', 'error']);
    expect(Object.keys(rows[0])).toEqual([...SCORES_COLUMNS]);
    expect(rows).toHaveLength(8 * results.conditions.length);
    const fakeRow = rows.find((row) => row.perturbation === 'none' && row.label === 'fake')!;
    expect(fakeRow.generator).toBe('tconv');
    expect(fakeRow.file.startsWith(fake)).toBe(true);
    expect(Number(fakeRow.fused)).toBeGreaterThan(0);
    expect(fakeRow['clip-probe']).toBe(''); // a signal the probe does not have
    expect(rows.filter((row) => row.label === 'real' && row.generator === '')).toHaveLength(4 * results.conditions.length);
    const curves = await evalCurves(results, { baseDir: out, visuals: true, includeExamples: false, maxImages: 0, seed: 0 });
    expect(curves.note).toBeUndefined();
    expect(curves.charts).toHaveLength(2);
  });
});
