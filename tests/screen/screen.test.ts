import { spawnSync } from 'node:child_process';
import { copyFile, readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScreener, screenImage, type Screener } from '../../src/screen/index.js';
import { loadProbe, saveProbe, type ScreenProbe } from '../../src/screen/probe.js';
import { runScreen, triageCsv } from '../../src/screen/run.js';
import { trainProbe } from '../../src/screen/train.js';
import { VERDICTS } from '../../src/screen/fusion.js';
import { formatDecimal } from '../../src/report/helpers.js';
import { HELDOUT_FAKE, HELDOUT_REAL, TRAIN_FAKE, TRAIN_REAL, tempDir } from './helpers.js';

const CONFORMANCE_DIR = join(process.cwd(), '..', 'shared', 'conformance', 'c2pa-rs');
const video = { fps: 2, topK: 3 };
let dir: string;
let cleanup: () => Promise<void>;
let probePath: string;
let probe: ScreenProbe;
let screener: Screener;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  probe = await trainProbe({ realDirs: [TRAIN_REAL], fakeDirs: [TRAIN_FAKE], seed: 0, folds: 5, targetFpr: 0.01, uncertainFpr: 0.1, maeMasks: 2 });
  probePath = join(dir, 'probe.json');
  await saveProbe(probePath, probe);
  screener = await createScreener({ probePath });
});

afterAll(async () => {
  await screener?.release();
  await cleanup?.();
});

describe('vigil screen', () => {
  it('trains a probe with validation metrics, a training-set hash and thresholds for the target FPR', () => {
    expect(probe.signals).toEqual(['spectral', 'residual', 'metadata']);
    expect(probe.trainingSet).toMatchObject({ real: 100, fake: 100 });
    expect(probe.trainingSet.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(probe.validation.spectral!.auc).toBeGreaterThan(0.95);
    expect(probe.validation.fused!.fpr_at_threshold).toBeLessThanOrEqual(0.01);
    // one fusion model per non-empty subset of the trained signals
    expect(probe.fusion.subsets.map((s) => s.signals.join('+')).sort()).toEqual(['metadata', 'residual', 'residual+metadata', 'spectral', 'spectral+metadata', 'spectral+residual', 'spectral+residual+metadata'].sort());
  });

  it('screens a batch: scores, verdicts, per-signal scores, sorted by score; a bad file is recorded and the batch goes on', async () => {
    const bad = join(dir, 'broken.jpg');
    await writeFile(bad, Buffer.from('not really a jpeg'));
    const results = await runScreen(screener, [join(HELDOUT_FAKE, 'tconv'), join(HELDOUT_REAL, 'real-heldout-000.jpg'), bad, join(dir, 'missing.png')], { video });
    expect(results.schema).toBe('vigil/screen');
    expect(results.summary.files).toBe(50 + 1 + 2);
    expect(results.summary.errors).toBe(2);
    const broken = results.files.find((f) => f.file === bad)!;
    expect(broken.status).toBe('error');
    expect(broken.error).toMatch(/broken\.jpg: cannot decode image/);
    expect(results.files.find((f) => f.file.endsWith('missing.png'))!.error).toMatch(/no such file/);
    const scored = results.files.filter((f) => f.status === 'ok');
    for (let i = 1; i < scored.length; i++) expect(scored[i - 1].score!).toBeGreaterThanOrEqual(scored[i].score!);
    expect(results.files.slice(-2).every((f) => f.status === 'error')).toBe(true);
    for (const f of scored) {
      expect(VERDICTS).toContain(f.verdict);
      expect(f.signalsRun).toEqual(['spectral', 'residual', 'metadata']);
      expect(f.signals.spectral!.score).toBeGreaterThanOrEqual(0);
      expect(f.signals.metadata!.findings.length).toBeGreaterThan(0);
    }
    const fakes = scored.filter((f) => f.file.includes('tconv'));
    expect(fakes.filter((f) => f.verdict === 'likely-synthetic').length).toBeGreaterThan(40);
  });

  it('records which signals ran: a subset run uses the fusion model for exactly those signals', async () => {
    const spectralOnly = await createScreener({ probePath, signals: ['spectral'] });
    const [result] = await spectralOnly.screen([join(HELDOUT_FAKE, 'nnconv', 'nnconv-heldout-000.png')]);
    expect(result.signalsRun).toEqual(['spectral']);
    expect(result.signalsMissing).toEqual([
      { signal: 'residual', reason: 'not requested (--signals)' },
      { signal: 'metadata', reason: 'not requested (--signals)' },
    ]);
    const spectralModel = probe.fusion.subsets.find((s) => s.signals.join() === 'spectral')!;
    expect(result.thresholds).toEqual(spectralModel.thresholds);
    expect(result.signals.metadata).toBeUndefined();
  });

  it('a spectral failure (image too small) leaves the metadata signal to decide, and says so', async () => {
    const tiny = await import('sharp').then((m) => m.default({ create: { width: 16, height: 16, channels: 3, background: '#777' } }).png().toBuffer());
    const result = await screenImage(screener, tiny, 'tiny.png');
    expect(result.status).toBe('ok');
    expect(result.signalsRun).toEqual(['metadata']);
    expect(result.signalsMissing[0]).toMatchObject({ signal: 'spectral' });
    expect(result.signalsMissing[0].reason).toMatch(/at least 32×32/);
  });

  it('worker threads (batches of 64+) give exactly the in-process results', async () => {
    const files = [join(HELDOUT_FAKE, 'nnconv'), HELDOUT_REAL];
    const pooled = await createScreener({ probePath, workers: 2 });
    try {
      const a = await runScreen(pooled, files, { video });
      const b = await runScreen(screener, files, { video });
      expect(a.files).toHaveLength(150);
      expect(a.files).toEqual(b.files);
    } finally {
      await pooled.release();
    }
  });

  it('screenImage on bytes gives exactly the per-file record of a path run', async () => {
    const file = join(HELDOUT_REAL, 'real-heldout-001.png');
    const fromBytes = await screenImage(screener, await readFile(file), file);
    const [fromPath] = (await runScreen(screener, [file], { video })).files;
    expect(fromBytes).toEqual(fromPath);
  });

  it.skipIf(!existsSync(join(CONFORMANCE_DIR, 'ocsp.jpg')))('a C2PA composite with generative AI (Adobe Firefly) is at least uncertain, citing the evidence path (needs ../shared conformance files)', async () => {
    const [result] = await screener.screen([join(CONFORMANCE_DIR, 'ocsp.jpg')]);
    expect(result.verdict).not.toBe('no-evidence');
    expect(result.signals.metadata).toMatchObject({ cue: 'ai-involved', declared: false, aiInvolved: true });
    expect(result.reasons[0]).toMatch(/generative AI was involved.*compositeWithTrainedAlgorithmicMedia.*c2pa\.actions\.v2 \/ actions\[0\]\.digitalSourceType/);
  });

  it.skipIf(!existsSync(join(CONFORMANCE_DIR, 'C.jpg')))('a C2PA created action with a synthetic source type in the active manifest forces likely-synthetic (needs ../shared conformance files)', async () => {
    const [result] = await screener.screen([join(CONFORMANCE_DIR, 'C.jpg')]);
    expect(result.verdict).toBe('likely-synthetic');
    expect(result.signals.metadata!.declared).toBe(true);
    expect(result.reasons[0]).toMatch(/metadata declares AI generation: C2PA declares AI generation: c2pa\.created .*algorithmicMedia .* at .* \/ c2pa\.actions\.v2 \/ actions\[0\]\.digitalSourceType/);
  });

  it('triage CSV is sorted by score and neutralises formula-like file names', async () => {
    const sub = join(dir, 'csv');
    await mkdir(sub);
    await copyFile(join(HELDOUT_FAKE, 'tconv', 'tconv-heldout-001.png'), join(sub, '=HYPERLINK(1).png'));
    await copyFile(join(HELDOUT_REAL, 'real-heldout-001.png'), join(sub, '+real.png'));
    const cwd = process.cwd();
    process.chdir(sub);
    let csv: string;
    try {
      csv = triageCsv(await runScreen(screener, ['=HYPERLINK(1).png', '+real.png'], { video }));
    } finally {
      process.chdir(cwd);
    }
    const lines = csv.trim().split('\n');
    expect(lines[0]).toMatch(/^rank,file,media,verdict,score,spectral,clip_probe,mae_recon,metadata/);
    expect(lines[1]).toMatch(/^1,'=HYPERLINK\(1\)\.png,image,likely-synthetic,/);
    expect(lines[2]).toMatch(/^2,'\+real\.png,image,/);
  });

  it('rejects a damaged probe file naming the field, and signals it was not trained with', async () => {
    const damaged = join(dir, 'damaged.json');
    const json = JSON.parse(await readFile(probePath, 'utf8'));
    json.fusion.subsets[0].model.bias = 'x';
    await writeFile(damaged, JSON.stringify(json));
    await expect(loadProbe(damaged)).rejects.toThrow(/probe .*damaged\.json: field fusion\.subsets\.0\.model\.bias/);
    await expect(createScreener({ probePath, signals: ['clip-probe'] })).rejects.toThrow(/signals probe .* was trained with \(spectral, residual, metadata\) for signals but received "clip-probe"/);
  });
});

describe('vigil screen CLI', () => {
  const cli = (args: string[]) =>
    spawnSync(join(process.cwd(), 'node_modules', '.bin', 'tsx'), [join(process.cwd(), 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8' });

  it('writes results.json, triage.csv and spectrum evidence; --json prints the same document; bad flags exit 2', async () => {
    const out = join(dir, 'out');
    const run = cli(['screen', join(HELDOUT_FAKE, 'nnconv', 'nnconv-heldout-000.png'), join(HELDOUT_REAL, 'real-heldout-003.jpg'), '--probe', probePath, '--out', out, '--json', '--fail-on', 'likely-synthetic']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1); // --fail-on: the nnconv fake is likely-synthetic
    const printed = JSON.parse(run.stdout);
    const written = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    expect(written.files).toEqual(printed.files);
    expect(written.csv).toBe('triage.csv');
    const evidence = await readdir(join(out, 'evidence'));
    expect(evidence.filter((f) => f.endsWith('-spectrum.png'))).toHaveLength(2);
    expect(written.files[0].signals.spectral.evidence).toMatch(/^evidence\/\d{4}-.*-spectrum\.png$/);
    expect((await readFile(join(out, 'triage.csv'), 'utf8')).split('\n')[1]).toMatch(/^1,.*nnconv-heldout-000\.png,image,likely-synthetic/);
    // report.html beside results.json, rendered from it: the top file's fused score as a raw value and as shown.
    const report = await readFile(join(out, 'report.html'), 'utf8');
    expect(report).toMatch(/^<!DOCTYPE html>/);
    expect(report).toContain(`data-value="${written.files[0].score}"`);
    expect(report).toContain(formatDecimal(written.files[0].score));

    const noReport = join(dir, 'out-no-report');
    expect(cli(['screen', join(HELDOUT_REAL, 'real-heldout-003.jpg'), '--probe', probePath, '--out', noReport, '--no-report']).status).toBe(0);
    expect(existsSync(join(noReport, 'results.json'))).toBe(true);
    expect(existsSync(join(noReport, 'report.html'))).toBe(false);

    const noImages = cli(['screen', 'train', '--real', join(dir, 'nowhere'), '--fake', HELDOUT_FAKE, '--out', join(dir, 'p.json')]);
    expect(noImages.status).toBe(2);
    expect(noImages.stderr).toMatch(/--real: no images found in .*nowhere/);

    const badSignal = cli(['screen', HELDOUT_REAL, '--probe', probePath, '--signals', 'spectral,bogus']);
    expect(badSignal.status).toBe(2);
    expect(badSignal.stderr).toMatch(/Expected a comma list of spectral, residual, clip-probe, mae-recon, metadata for --signals but received "bogus"/);
  });

  it('screen eval --out writes results.json, scores.csv and a report.html with the fused AUC and its curves', async () => {
    const real = join(dir, 'eval-real');
    const fake = join(dir, 'eval-fake', 'nnconv');
    await mkdir(real, { recursive: true });
    await mkdir(fake, { recursive: true });
    for (const [from, to] of [[HELDOUT_REAL, real], [join(HELDOUT_FAKE, 'nnconv'), fake]]) {
      for (const name of (await readdir(from)).sort().slice(0, 4)) await copyFile(join(from, name), join(to, name));
    }
    const out = join(dir, 'eval-out');
    const run = cli(['screen', 'eval', '--real', real, '--fake', fake, '--probe', probePath, '--bootstrap', '50', '--out', out]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`report: ${join(out, 'report.html')}`);
    const written = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    const auc: number = written.conditions[0].groups[0].scorers.fused.metrics.auc.value;
    const report = await readFile(join(out, 'report.html'), 'utf8');
    expect(report).toContain(`data-metric="auc" data-value="${auc}"`);
    // The ROC curve is drawn from scores.csv, so it names the fused AUC in its legend.
    expect(report).toContain(`Fused (AUC ${formatDecimal(auc)})`);
  });
});
