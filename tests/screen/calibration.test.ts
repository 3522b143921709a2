import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDistribution, fitDistribution } from '../../src/screen/distribution.js';
import { evaluate } from '../../src/screen/eval.js';
import { durallFeatures, evaluateFamilies } from '../../src/screen/families.js';
import { verdictFor } from '../../src/screen/fusion.js';
import { decodeImage } from '../../src/screen/image.js';
import { groupedFolds } from '../../src/screen/logistic.js';
import { binomialInterval, conformalThresholdForFpr } from '../../src/screen/metrics.js';
import { DEFAULT_PROBE_PATH, loadProbe } from '../../src/screen/probe.js';
import { triageOrder } from '../../src/screen/run.js';
import { blankFileResult, createScreener } from '../../src/screen/screener.js';
import { FEATURE_SIGNALS } from '../../src/screen/signals/index.js';
import { analyzeResidual, RESIDUAL_FEATURE_NAMES } from '../../src/screen/signals/residual.js';
import { groupFiles, trainProbe } from '../../src/screen/train.js';
import { FIXTURES, images, tempDir } from './helpers.js';

const PHOTOS = join(FIXTURES, 'photos');
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(async () => {
  await cleanup?.();
});

/** A deterministic photograph-like texture: smooth gradients plus fine noise (no 2-pixel grid). */
async function texture(side: number, seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(side * side * 3);
  let state = seed;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      for (let c = 0; c < 3; c++) {
        state = (state * 1103515245 + 12345) >>> 0;
        const noise = (state >>> 24) / 8;
        raw[(y * side + x) * 3 + c] = Math.min(255, Math.round(90 + 60 * Math.sin((x + 7 * c) / 13) * Math.cos(y / 17) + noise));
      }
    }
  }
  return sharp(raw, { raw: { width: side, height: side, channels: 3 } }).png().toBuffer();
}

/** Copies the first n images of a folder into dest (a small, fast subset of the committed sets). */
async function subset(from: string, dest: string, n: number): Promise<string> {
  await mkdir(dest, { recursive: true });
  for (const file of (await images(from)).slice(0, n)) await copyFile(file, join(dest, basename(file)));
  return dest;
}

describe('residual signal (NPR)', () => {
  it('finds the 2-pixel grid that x2 upsampling leaves, per channel, and refuses tiny images', async () => {
    const photo = await texture(192, 1);
    const small = await sharp(photo).resize(96, 96, { kernel: 'lanczos3' }).png().toBuffer();
    const analyse = async (bytes: Buffer) => analyzeResidual(await decodeImage(bytes, 'x.png'));
    const original = await analyse(photo);
    expect(original.features).toHaveLength(RESIDUAL_FEATURE_NAMES.length);
    for (const kernel of ['nearest', 'linear', 'cubic'] as const) {
      const upsampled = await analyse(await sharp(small).resize(192, 192, { kernel }).png().toBuffer());
      expect(upsampled.statistic, kernel).toBeGreaterThan(original.statistic + 0.3);
    }
    expect(() => analyzeResidual({ data: new Uint8Array(20 * 20), width: 20, height: 20 })).toThrow(/at least 32×32 pixels for the residual/);
  });

  it('the lag-1 phase contrasts rise after x2 nearest, cubic and Lanczos upsampling', async () => {
    const photo = await texture(200, 3);
    const analyse = async (bytes: Buffer) => analyzeResidual(await decodeImage(bytes, 'x'));
    // Features 6 and 7 of each channel (8 per channel): the period-2 and period-4 lag-1 phase contrasts.
    const lagPhase = (features: number[]): number => Math.max(...[0, 1, 2].flatMap((c) => [features[c * 8 + 6], features[c * 8 + 7]]));
    const plain = lagPhase((await analyse(photo)).features);
    const small = await sharp(photo).resize(100, 100, { kernel: 'lanczos3' }).png().toBuffer();
    // libvips's linear x2 interpolates both phases symmetrically, which these contrasts do not see
    // (the grid statistic does: the test above); the training fakes' PIL resampling is seen by both.
    for (const kernel of ['nearest', 'cubic', 'lanczos3'] as const) {
      const upsampled = lagPhase((await analyse(await sharp(small).resize(200, 200, { kernel }).png().toBuffer())).features);
      expect(upsampled, kernel).toBeGreaterThan(plain + 0.5);
    }
  });

  it('is one entry of the signal registry, like the spectral signal', () => {
    expect(FEATURE_SIGNALS.map((s) => [s.id, s.meta.id, s.meta.needs.includes('pixels')])).toEqual([
      ['spectral', 'spectral', true],
      ['residual', 'residual', true],
    ]);
    expect(durallFeatures(new Array(200).fill(0).map((_, i) => (i < 96 ? i % 32 : 0)))).toEqual(Array.from({ length: 32 }, (_, i) => i));
  });
});

describe('calibration statistics', () => {
  it('Clopper-Pearson intervals match known values; split-conformal thresholds flag at most floor(fpr(n+1))-1 calibration images', () => {
    const [lo, hi] = binomialInterval(0, 300, 0.95);
    expect(lo).toBe(0);
    expect(hi).toBeCloseTo(0.01222, 4);
    const [lo5, hi5] = binomialInterval(5, 10, 0.95);
    expect(lo5).toBeCloseTo(0.1871, 3);
    expect(hi5).toBeCloseTo(0.8129, 3);
    const scores = Array.from({ length: 399 }, (_, i) => i / 399);
    const threshold = conformalThresholdForFpr(scores, 0.01);
    expect(scores.filter((s) => s > threshold)).toHaveLength(3);
    // Too few calibration images for the rate: nothing is flagged by score.
    expect(conformalThresholdForFpr([0.2, 0.9], 0.01)).toBe(1);
  });

  it('group-aware folds keep every group in one fold and spread both classes', () => {
    const y = Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const groups = y.map((_, i) => `photo-${Math.floor(i / 6)}`);
    const folds = groupedFolds(y, groups, 5, 0);
    for (const g of new Set(groups)) expect(new Set(folds.filter((_, i) => groups[i] === g)).size).toBe(1);
    for (let f = 0; f < 5; f++) {
      expect(y.filter((v, i) => v === 1 && folds[i] === f).length).toBeGreaterThan(3);
      expect(y.filter((v, i) => v === 0 && folds[i] === f).length).toBeGreaterThan(10);
    }
  });

  it('groups files from a CSV (paths relative to it), by stem, and names what is missing', async () => {
    const csv = join(dir, 'groups.csv');
    await writeFile(csv, 'file,group\nreal/a.jpg,photo-1\nfake/a.png,photo-1\n');
    expect(await groupFiles([join(dir, 'real', 'a.jpg'), join(dir, 'fake', 'a.png')], { groupsCsv: csv })).toEqual(['photo-1', 'photo-1']);
    await expect(groupFiles([join(dir, 'real', 'b.jpg')], { groupsCsv: csv })).rejects.toThrow(/--groups .*groups\.csv: no group for 1 image\(s\), e.g. .*b\.jpg/);
    await writeFile(join(dir, 'bad.csv'), 'path,label\nx,y\n');
    await expect(groupFiles([join(dir, 'x')], { groupsCsv: join(dir, 'bad.csv') })).rejects.toThrow(/row 2: expected columns file and group/);
    expect(await groupFiles(['r/cat.jpg', 'f/cat.png'], { pairBy: 'stem' })).toEqual(['cat', 'cat']);
  });
});

describe('out of distribution: cannot tell', () => {
  it('flags features far from training and sizes outside its range; an out-of-distribution verdict is uncertain unless provenance declares AI', () => {
    const training = Array.from({ length: 50 }, (_, i) => [Math.sin(i), Math.cos(i), (i % 7) / 7]);
    const model = fitDistribution(['spectral'], training, null, [{ width: 256, height: 256 }, { width: 384, height: 320 }]);
    expect(checkDistribution(model, [0, 0, 0.5], 300, 300).inDistribution).toBe(true);
    const far = checkDistribution(model, [40, -40, 9], 300, 300);
    expect(far.inDistribution).toBe(false);
    expect(far.why[0]).toMatch(/far from the training images \(distance [\d.]+ > [\d.]+/);
    expect(checkDistribution(model, [0, 0, 0.5], 100, 300).why).toEqual([expect.stringMatching(/smaller \(100×300\) than any training image \(shorter side 256 px\)/)]);
    expect(checkDistribution(model, [0, 0, 0.5], 6000, 4000).why).toEqual([expect.stringMatching(/far larger \(6000×4000\)/)]);
    const thresholds = { likelySynthetic: 0.9, uncertain: 0.5 };
    expect(verdictFor(0.99, thresholds, false, true)).toBe('uncertain');
    expect(verdictFor(0.01, thresholds, false, true)).toBe('uncertain');
    expect(verdictFor(0.01, thresholds, true, true)).toBe('likely-synthetic');
    expect(verdictFor(0.99, thresholds, false, false)).toBe('likely-synthetic');
  });

  it('the bundled probe labels itself, was calibrated on held-out photographs, and says "cannot tell" on an out-of-range image', async () => {
    const probe = await loadProbe(DEFAULT_PROBE_PATH);
    expect(probe.calibrationSet).toMatchObject({ method: 'split-conformal' });
    expect(probe.calibrationSet!.real).toBeGreaterThanOrEqual(300);
    expect(probe.grouping.method).toBe('groups-csv');
    const screener = await createScreener({ signals: ['spectral', 'residual', 'metadata'] });
    try {
      expect(screener.summary.origin.kind).toBe('bundled-default');
      expect(screener.summary.origin.note).toMatch(/train your own with `vigil screen train`/);
      expect(screener.summary.thresholdsFrom).toBe('calibration-set');
      const flat = await sharp({ create: { width: 320, height: 320, channels: 3, background: '#202020' } }).png().toBuffer();
      const [result] = await screener.screen([{ name: 'flat.png', bytes: flat }]);
      expect(result.distribution!.inDistribution).toBe(false);
      expect(result.verdict).toBe('uncertain');
      expect(result.reasons[0]).toMatch(/^out-of-distribution: cannot tell/);
      const [inRange] = await screener.screen([join(PHOTOS, 'test', 'real', (await readdir(join(PHOTOS, 'test', 'real')))[0])]);
      expect(inRange.distribution).not.toBeNull();
    } finally {
      await screener.release();
    }
  });

  it('the CLI prints the default-probe line', () => {
    const file = join(PHOTOS, 'test', 'real');
    const run = spawnSync(join(process.cwd(), 'node_modules', '.bin', 'tsx'), [join(process.cwd(), 'src', 'cli', 'main.ts'), 'screen', join(file, 'lomiri-bridge-002.jpg'), '--signals', 'spectral,residual,metadata'], { encoding: 'utf8' });
    expect(run.stdout.split('\n')[0]).toMatch(/^probe: bundled default probe: trained on the project's fixtures/);
  });
});

describe('triage order', () => {
  it('puts verdicts first, then P(synthetic), errors last', () => {
    const file = (name: string, score: number | null, verdict: 'likely-synthetic' | 'uncertain' | 'no-evidence' | null) => ({ ...blankFileResult(name, 'image'), score, verdict });
    const ordered = triageOrder([file('u', 0.95, 'uncertain'), file('err', null, null), file('l', 0.6, 'likely-synthetic'), file('n', 0.2, 'no-evidence')]);
    expect(ordered.map((f) => f.file)).toEqual(['l', 'u', 'n', 'err']);
  });
});

describe('training on held-out calibration and cross-family evaluation', () => {
  it('train sets thresholds on the calibration photos with group-aware folds and warns under 20 images per class', async () => {
    const real = await subset(join(PHOTOS, 'train', 'real'), join(dir, 'train', 'real'), 15);
    const fake = await subset(join(PHOTOS, 'train', 'fake', 'nearest-x2'), join(dir, 'train', 'fake', 'nearest-x2'), 15);
    const calibration = await subset(join(PHOTOS, 'calibration', 'real'), join(dir, 'calibration'), 30);
    const probe = await trainProbe({ realDirs: [real], fakeDirs: [fake], calibrationDirs: [calibration], pairBy: 'stem', seed: 0, folds: 3, targetFpr: 0.05, uncertainFpr: 0.1, maeMasks: 1 });
    expect(probe.calibrationSet).toMatchObject({ real: 30, method: 'split-conformal' });
    expect(probe.grouping).toMatchObject({ method: 'pair-by-stem' });
    expect(probe.warnings.join('\n')).toMatch(/only 15 real training images \(fewer than 20\)/);
    expect(probe.distribution!.reference).toBe('calibration');
    await expect(
      trainProbe({ realDirs: [real], fakeDirs: [fake], calibrationDirs: [real], seed: 0, folds: 3, targetFpr: 0.05, uncertainFpr: 0.1, maeMasks: 1 }),
    ).rejects.toThrow(/--calibration: 15 image\(s\) are also training images/);
  });

  it('leave-one-family-out trains without each family and reports vigil beside the Durall baseline with CIs', async () => {
    const trainFake = join(dir, 'loo', 'train-fake');
    const testFake = join(dir, 'loo', 'test-fake');
    for (const family of ['nearest-x2', 'tconv-checker', 'bilinear-x4']) {
      await subset(join(PHOTOS, 'train', 'fake', family), join(trainFake, family), 12);
      await subset(join(PHOTOS, 'test', 'fake', family), join(testFake, family), 12);
    }
    const result = await evaluateFamilies({
      trainRealDirs: [await subset(join(PHOTOS, 'train', 'real'), join(dir, 'loo', 'train-real'), 36)],
      trainFakeDirs: [trainFake],
      testRealDirs: [await subset(join(PHOTOS, 'test', 'real'), join(dir, 'loo', 'test-real'), 30)],
      testFakeDirs: [testFake],
      seed: 0,
      folds: 3,
      targetFpr: 0.05,
      uncertainFpr: 0.1,
      bootstrap: { resamples: 50, confidence: 0.95, seed: 0 },
      leaveOneOut: true,
    });
    expect(result.protocol).toBe('leave-one-family-out');
    expect(result.families.map((f) => [f.family, f.trainedOn.includes(f.family), f.real, f.fake])).toEqual([
      ['bilinear-x4', false, 30, 12],
      ['nearest-x2', false, 30, 12],
      ['tconv-checker', false, 30, 12],
    ]);
    for (const row of result.families) {
      expect(row.vigil.auc.ci[0]).toBeLessThanOrEqual(row.vigil.auc.value);
      expect(row.durall.auc.value).toBeGreaterThanOrEqual(0);
    }
    // A family the others share artifacts with (2x and 4x grids) is still caught unseen.
    expect(result.families.find((f) => f.family === 'tconv-checker')!.vigil.auc.value).toBeGreaterThan(0.8);
  });

  it('screen eval reports the realised FPR by verdict with an exact interval', async () => {
    const screener = await createScreener({ signals: ['spectral', 'residual', 'metadata'] });
    try {
      const real = await subset(join(PHOTOS, 'test', 'real'), join(dir, 'eval-real'), 40);
      const results = await evaluate(screener, { realDirs: [real], fakeDirs: [join(PHOTOS, 'test', 'fake', 'nearest-x2')], robustness: false, bootstrap: { resamples: 50, confidence: 0.95, seed: 0 } });
      expect(results.realisedFpr.map((r) => [r.level, r.real])).toEqual([
        ['likely-synthetic', 40],
        ['uncertain-or-worse', 40],
      ]);
      const likely = results.realisedFpr[0];
      expect(likely.ci).toEqual(binomialInterval(likely.falsePositives, 40, 0.95));
      expect(results.outOfDistribution.real + results.outOfDistribution.fake).toBeGreaterThanOrEqual(0);
    } finally {
      await screener.release();
    }
  });
});
