import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rocAuc } from '../../src/screen/metrics.js';
import { saveProbe, type ScreenProbe } from '../../src/screen/probe.js';
import { createScreener, type Screener } from '../../src/screen/screener.js';
import { trainProbe } from '../../src/screen/train.js';
import { CLIP_DIR, HAVE_MODELS, HELDOUT_FAKE, HELDOUT_REAL, MAE_DIR, TRAIN_FAKE, TRAIN_REAL, images, tempDir } from './helpers.js';

/** The vision stack's tiny random test models: enough to exercise the model signals end to end. */
const TEST_MODELS = join(process.cwd(), 'tests', 'vision', 'fixtures', 'models');

let dir: string;
let cleanup: () => Promise<void>;
let probe: ScreenProbe;
let probePath: string;
let screener: Screener;
const common = { seed: 0, folds: 3, targetFpr: 0.01, uncertainFpr: 0.1, maeMasks: 2, cacheDir: false as const };

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('vigil-screen-models-'));
  probe = await trainProbe({
    realDirs: [join(TRAIN_REAL)],
    fakeDirs: [join(TRAIN_FAKE, 'tconv')],
    clipDir: join(TEST_MODELS, 'clip'),
    maeDir: join(TEST_MODELS, 'mae'),
    ...common,
  });
  probePath = join(dir, 'probe.json');
  await saveProbe(probePath, probe);
  screener = await createScreener({ probePath, cacheDir: false });
});

afterAll(async () => {
  await screener?.release();
  await cleanup?.();
});

describe('model signals (clip-probe, mae-recon) end to end', () => {
  it('train stores the CLIP probe with model hash, C grid and validation, and the MAE normalisation', () => {
    expect(probe.signals).toEqual(['spectral', 'residual', 'clip-probe', 'mae-recon', 'metadata']);
    const clip = probe.clipProbe!;
    expect(clip.clipModelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(clip.model.weights).toHaveLength(clip.embeddingSize);
    expect(clip.cGrid.map((g) => g.c)).toContain(clip.model.c);
    expect(clip.validation.auc).toBeGreaterThanOrEqual(0);
    expect(probe.maeRecon!.masks).toBe(2);
    expect(probe.maeRecon!.realLogErrorStd).toBeGreaterThan(0);
    expect(probe.fusion.subsets).toHaveLength(31);
  });

  it('screens with all four signals and writes the MAE heatmap evidence', async () => {
    const [result] = await screener.screen([join(HELDOUT_FAKE, 'tconv', 'tconv-heldout-001.png')], { evidenceDir: dir });
    expect(result.signalsRun).toEqual(['spectral', 'residual', 'clip-probe', 'mae-recon', 'metadata']);
    expect(result.signals['mae-recon']!.masks).toBe(2);
    expect(result.signals['mae-recon']!.reconstructionError).toBeGreaterThan(0);
    expect(result.signals['mae-recon']!.evidence).toMatch(/^evidence\/\d{4}-tconv-heldout-001-mae-error\.png$/);
    expect(await readdir(join(dir, 'evidence'))).toContain(result.signals['mae-recon']!.evidence!.slice('evidence/'.length));
    expect(result.signals['clip-probe']!.score).toBeGreaterThanOrEqual(0);
  });

  it('loading the probe with a different CLIP model is an error naming both hashes', async () => {
    const other = join(dir, 'other-clip');
    await cp(join(TEST_MODELS, 'clip'), other, { recursive: true });
    const config = JSON.parse(await readFile(join(other, 'config.json'), 'utf8'));
    await writeFile(join(other, 'config.json'), JSON.stringify({ ...config, logit_scale: 1.5 }));
    await expect(createScreener({ probePath, clipDir: other })).rejects.toThrow(
      new RegExp(`CLIP model .*other-clip \\(sha256 [0-9a-f]{12}…\\) is not the model probe .*probe\\.json was trained with \\(sha256 ${probe.clipProbe!.clipModelSha256.slice(0, 12)}…\\)`),
    );
    await expect(createScreener({ probePath, clipDir: join(TEST_MODELS, 'mae') })).rejects.toThrow(/expected a CLIP model folder but found a mae model/);
  });
});

describe.runIf(HAVE_MODELS)('bundled CLIP and MAE fixtures', () => {
  it('clip-probe and mae-recon separate held-out fixture classes better than chance', async () => {
    const trained = await trainProbe({ realDirs: [TRAIN_REAL], fakeDirs: [TRAIN_FAKE], clipDir: CLIP_DIR, maeDir: MAE_DIR, ...common });
    const path = join(dir, 'bundled.json');
    await saveProbe(path, trained);
    const bundled = await createScreener({ probePath: path, cacheDir: false });
    try {
      const real = await bundled.screen(await images(HELDOUT_REAL));
      const fake = await bundled.screen(await images(HELDOUT_FAKE));
      for (const id of ['clip-probe', 'mae-recon'] as const) {
        const auc = rocAuc({ real: real.map((r) => r.signals[id]!.score), fake: fake.map((r) => r.signals[id]!.score) });
        expect(auc, id).toBeGreaterThan(0.6);
      }
    } finally {
      await bundled.release();
    }
  });
});

