import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/screen/image.js';
import { decisionValue, fitLogisticCv } from '../../src/screen/logistic.js';
import { rocAuc } from '../../src/screen/metrics.js';
import { readMetadataFacts, scoreMetadata } from '../../src/screen/signals/metadata.js';
import { analyzeSpectrum, SPECTRAL_FEATURE_NAMES } from '../../src/screen/signals/spectral.js';
import { SIGNALS } from '../../src/screen/signals/index.js';
import { SIGNAL_IDS } from '../../src/screen/signals/types.js';
import { HELDOUT_FAKE, HELDOUT_REAL, TRAIN_FAKE, TRAIN_REAL, images } from './helpers.js';

async function spectralFeatures(dir: string): Promise<number[][]> {
  const out: number[][] = [];
  for (const file of await images(dir)) out.push(analyzeSpectrum(await decodeImage(await readFile(file), file)).features);
  return out;
}

describe('signal metadata', () => {
  it('every signal has an id, title, description and requirement', () => {
    for (const id of SIGNAL_IDS) {
      expect(SIGNALS[id].id).toBe(id);
      expect(SIGNALS[id].title.length).toBeGreaterThan(3);
      expect(SIGNALS[id].description.length).toBeGreaterThan(40);
    }
  });
});

describe('spectral signal', () => {
  it('separates held-out fixture fakes from reals (model trained on the train split only)', async () => {
    const [trainReal, trainFake, heldReal, heldFake] = await Promise.all([TRAIN_REAL, TRAIN_FAKE, HELDOUT_REAL, HELDOUT_FAKE].map(spectralFeatures));
    expect(trainReal[0]).toHaveLength(SPECTRAL_FEATURE_NAMES.length);
    const fit = fitLogisticCv({ x: [...trainReal, ...trainFake], y: [...trainReal.map(() => 0), ...trainFake.map(() => 1)] }, { folds: 5, seed: 0 });
    const auc = rocAuc({ real: heldReal.map((x) => decisionValue(fit.model, x)), fake: heldFake.map((x) => decisionValue(fit.model, x)) });
    expect(auc).toBeGreaterThan(0.95);
  });

  it('sees the transposed-convolution checkerboard as a peak at the Nyquist frequency', async () => {
    const peakIndex = SPECTRAL_FEATURE_NAMES.indexOf('peak_diagonal_period_2');
    const mean = (rows: number[][]) => rows.reduce((a, r) => a + r[peakIndex], 0) / rows.length;
    const real = await spectralFeatures(HELDOUT_REAL);
    const tconv = await spectralFeatures(join(HELDOUT_FAKE, 'tconv'));
    expect(mean(tconv)).toBeGreaterThan(mean(real) + 1);
  });

  it('averages up to 2×2 tiles of at most 64 px at native resolution, and refuses tiny images', async () => {
    const big = { data: new Uint8Array(512 * 300).map((_, i) => (i * 37) % 251), width: 512, height: 300 };
    const analysis = analyzeSpectrum(big);
    expect(analysis.tile).toBe(64);
    expect(analysis.tiles).toBe(4);
    expect(analysis.logPower).toHaveLength(64 * 64);
    expect(analysis.features).toHaveLength(SPECTRAL_FEATURE_NAMES.length);
    const small = analyzeSpectrum({ data: new Uint8Array(40 * 50), width: 40, height: 50 });
    expect(small.tile).toBe(32);
    expect(() => analyzeSpectrum({ data: new Uint8Array(20 * 20), width: 20, height: 20 })).toThrow(/at least 32×32 pixels.*for image size but received "20×20"/);
  });
});

describe('metadata signal', () => {
  it('finds the generator parameters chunk and camera EXIF in the fixtures', async () => {
    const fakes = await images(TRAIN_FAKE);
    const cues = await Promise.all(fakes.map(async (f) => scoreMetadata(await readMetadataFacts(await readFile(f)))));
    const fingerprinted = cues.filter((c) => c.cue === 'fingerprint');
    expect(fingerprinted.length).toBeGreaterThan(5);
    expect(fingerprinted[0].findings[0]).toMatch(/generator text chunk "parameters"/);
    const reals = await images(TRAIN_REAL);
    const realCues = await Promise.all(reals.map(async (f) => scoreMetadata(await readMetadataFacts(await readFile(f)))));
    expect(realCues.filter((c) => c.cue === 'camera').length).toBeGreaterThan(20);
    expect(realCues.some((c) => c.cue === 'fingerprint' || c.declared)).toBe(false);
  });

  it('separates held-out classes better than chance, but is not decisive on its own', async () => {
    const score = async (dir: string) => Promise.all((await images(dir)).map(async (f) => scoreMetadata(await readMetadataFacts(await readFile(f))).score));
    const auc = rocAuc({ real: await score(HELDOUT_REAL), fake: await score(HELDOUT_FAKE) });
    expect(auc).toBeGreaterThan(0.65);
    expect(auc).toBeLessThan(0.95);
  });

  it('reads Software naming a generator from EXIF and treats stripped files as a weak cue', async () => {
    const tagged = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
      .jpeg()
      .withExif({ IFD0: { Software: 'Midjourney v6' } })
      .toBuffer();
    const facts = await readMetadataFacts(tagged);
    expect(facts.software).toBe('Midjourney v6');
    expect(scoreMetadata(facts).cue).toBe('fingerprint');
    const bare = scoreMetadata(await readMetadataFacts(await sharp(tagged).jpeg().toBuffer()));
    expect(bare.cue).toBe('absent');
    expect(bare.score).toBeGreaterThan(0.5);
    expect(bare.score).toBeLessThan(0.6);
  });
});
