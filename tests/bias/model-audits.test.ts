/**
 * Every audit kind from the example specs on the bundled fixtures: the planted probe set's
 * disparities (measured in PyTorch, truth.json) are found — the interval contains the measured
 * value and excludes 0 — and the control probe set gets no fail verdict.
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BiasResult, FeatureResult } from '../../src/bias/result.js';
import { runBias } from '../../src/bias/run.js';
import { loadSpec, validateSpec, type LoadedSpec } from '../../src/bias/spec.js';

const root = resolve('fixtures');
const ready = ['models/clip', 'models/vit', 'models/mae', 'probes/planted/truth.json', 'probes/control/truth.json'].every((p) => existsSync(join(root, p)));

interface Truth {
  models: {
    vit: { demographic_parity_difference: number; accuracy_difference: number };
    clip: { demographic_parity_difference: number };
    mae: { difference: number };
  };
}
const truth = (set: string): Truth => JSON.parse(readFileSync(join(root, 'probes', set, 'truth.json'), 'utf8')) as Truth;

let cacheDir: string;

/** An example spec from audits/, on the given probe set, with fewer replicates to keep tests quick. */
async function example(name: string, probeSet: string, changes: Record<string, unknown> = {}): Promise<LoadedSpec> {
  const loaded = await loadSpec(`audits/${name}.yaml`);
  const document = structuredClone(loaded.spec) as Record<string, unknown>;
  if (document.probe_set) (document.probe_set as { path: string }).path = `../fixtures/probes/${probeSet}`;
  return validateSpec({ ...document, n_boot: 400, ...changes }, loaded.path, loaded.baseDir, loaded.sha256);
}

async function audit(spec: LoadedSpec): Promise<BiasResult> {
  cacheDir ??= await mkdtemp(join(tmpdir(), 'vigil-bias-cache-'));
  return (await runBias(spec, { quiet: true, cacheDir })).result;
}

function tone(result: BiasResult): FeatureResult {
  const feature = result.audits[0].features.find((f) => f.attribute === 'tone');
  if (!feature) throw new Error('no tone feature');
  return feature;
}

function expectFound(value: { value: number | null; ci: [number | null, number | null] }, planted: number): void {
  const [lo, hi] = value.ci as [number, number];
  expect(lo).toBeGreaterThan(0);
  expect(lo).toBeLessThanOrEqual(Math.abs(planted));
  expect(hi).toBeGreaterThanOrEqual(Math.abs(planted));
}

describe.skipIf(!ready)('model audits on the planted probe set', () => {
  it('zero-shot finds the planted harmful-label disparity', async () => {
    const result = await audit(await example('zero-shot', 'planted'));
    const dp = tone(result).disparities.demographic_parity_difference;
    expectFound(dp, truth('planted').models.clip.demographic_parity_difference);
    // Probe images are stored at the model's input size, so predictions match PyTorch's exactly.
    expect(dp.value).toBeCloseTo(truth('planted').models.clip.demographic_parity_difference, 4);
    expect(dp.groups).toEqual(['dark', 'light']);
    expect(result.model).toMatchObject({ kind: 'clip', provider: 'cpu', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(result.probe_set?.manifest_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.audits[0].disclosure).toMatchObject({ harmful_labels: ['square'], templates: ['a photo of a {label}'] });
    expect(result.verdict).toBe('fail');
  });

  it('changing labels re-runs from the cache with no image inference', async () => {
    await audit(await example('zero-shot', 'planted'));
    const spec = await example('zero-shot', 'planted', {
      audits: [{ kind: 'zero-shot', labels: ['circle', 'square', 'triangle'], templates: ['a {label}'], harmful_labels: ['square'] }],
    });
    const result = await audit(spec);
    expect(result.audits[0].inference).toMatchObject({ images_inferred: 0 });
    expect(result.audits[0].inference?.cache_hits).toBe(result.probe_set?.n_rows);
  });

  it('classification finds the planted accuracy and selection-rate gaps', async () => {
    const result = await audit(await example('classification', 'planted'));
    const feature = tone(result);
    expectFound(feature.disparities.demographic_parity_difference, truth('planted').models.vit.demographic_parity_difference);
    expectFound(feature.disparities.accuracy_difference, truth('planted').models.vit.accuracy_difference);
    expect(feature.disparities.accuracy_difference.value).toBeCloseTo(truth('planted').models.vit.accuracy_difference, 4);
    expect(feature.by_group.dark.tpr).toBeDefined();
  });

  it('reconstruction measures the group gap in MAE error', async () => {
    const result = await audit(await example('reconstruction', 'planted'));
    const gap = tone(result).disparities.mean_reconstruction_error_difference;
    // vigil's masks come from its own seeded noise, not torch.rand: same model, other masks, so
    // the point estimates differ a little; the interval still contains the PyTorch value.
    expectFound(gap, truth('planted').models.mae.difference);
    expect(gap.groups).toEqual(['dark', 'light']);
  });

  it('retrieval over-represents dark tones for "square"', async () => {
    const result = await audit(await example('retrieval', 'planted'));
    const at50 = tone(result).skew?.square['50'].uniform;
    expect(at50?.max_skew.group).toBe('dark');
    expect(at50?.max_skew.ci[0]).toBeGreaterThan(0);
  });

  it('association: dark images sit closer to "square" prompts', async () => {
    const result = await audit(await example('association', 'planted'));
    const association = result.audits[0].associations?.[0];
    expect(association?.effect_size.ci[0]).toBeGreaterThan(0);
    expect(association?.p_value).toBeLessThan(0.01);
  });

  it('predictions audit reproduces the PyTorch-measured disparity exactly', async () => {
    const result = await audit(await example('predictions', 'planted'));
    expect(tone(result).disparities.demographic_parity_difference.value).toBeCloseTo(truth('planted').models.vit.demographic_parity_difference, 4);
  });
});

describe.skipIf(!ready)('model audits on the control probe set', () => {
  for (const name of ['zero-shot', 'classification', 'reconstruction', 'retrieval', 'predictions']) {
    it(`${name}: no fail verdict`, async () => {
      const changes = name === 'predictions' ? { audits: [{ ...(await loadSpec('audits/predictions.yaml')).spec.audits[0], file: '../fixtures/probes/control/predictions.csv' }] } : {};
      const result = await audit(await example(name, 'control', changes));
      expect(result.verdicts.filter((v) => v.status === 'fail')).toEqual([]);
    });
  }

  it('association: no significant effect between light and medium', async () => {
    const loaded = await loadSpec('audits/association.yaml');
    const entry = { ...loaded.spec.audits[0], x_group: 'medium', y_group: 'light' };
    const result = await audit(await example('association', 'control', { audits: [entry] }));
    expect(result.verdicts.filter((v) => v.status === 'fail')).toEqual([]);
  });
});

describe.skipIf(!ready)('FairFace example specs run on a FairFace-shaped probe set', () => {
  /** Planted images laid out like FairFace (val/N.jpg paths in fairface_label_val.csv). */
  async function fairFaceLike(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-fairface-'));
    await mkdir(join(dir, 'val'));
    const races = ['Black', 'East Asian', 'White'];
    const lines = ['file,age,gender,race,service_test'];
    for (let i = 0; i < 60; i++) {
      const source = join(root, 'probes', 'planted', `${String(i).padStart(3, '0')}-${i % 2 === 0 ? 'dark' : 'light'}.png`);
      await copyFile(source, join(dir, 'val', `${i + 1}.png`));
      lines.push(`val/${i + 1}.png,${['20-29', '30-39'][i % 2]},${i % 4 < 2 ? 'Female' : 'Male'},${races[i % 3]},True`);
    }
    await writeFile(join(dir, 'fairface_label_val.csv'), `${lines.join('\n')}\n`);
    return join(dir, 'fairface_label_val.csv');
  }

  it('harmful-label zero-shot audit (Agarwal et al.)', async () => {
    const labels = await fairFaceLike();
    const loaded = await loadSpec('audits/fairface-zero-shot-harmful.yaml');
    const document = { ...structuredClone(loaded.spec), model: join(root, 'models', 'clip'), device: 'cpu', probe_set: { path: labels, format: 'fairface' }, n_boot: 100, min_group_size: 5 };
    const result = await audit(validateSpec(document, loaded.path, loaded.baseDir, loaded.sha256));
    expect(result.probe_set).toMatchObject({ format: 'fairface', n_rows: 60 });
    expect(result.audits[0].features.map((f) => f.attribute)).toEqual(['race', 'gender', 'age', 'race × gender']);
    expect(result.audits[0].disclosure.harmful_labels).toContain('suspicious person');
    expect(result.verdicts.length).toBeGreaterThan(0);
  });

  it('occupation retrieval skew (Berg et al. style)', async () => {
    const labels = await fairFaceLike();
    const loaded = await loadSpec('audits/fairface-occupation-retrieval.yaml');
    const spec = structuredClone(loaded.spec);
    const entry = { ...spec.audits[0], k: [5, 10] };
    const document = { ...spec, model: join(root, 'models', 'clip'), device: 'cpu', probe_set: { path: labels, format: 'fairface' }, n_boot: 100, audits: [entry], thresholds: ['max_skew@10 <= 0.3'] };
    const result = await audit(validateSpec(document, loaded.path, loaded.baseDir, loaded.sha256));
    const gender = result.audits[0].features[0];
    expect(Object.keys(gender.skew ?? {})).toContain('construction worker');
    expect(gender.skew?.doctor['10'].proportional.ndkl.value).toEqual(expect.any(Number));
  });
});
