import { resolve } from 'node:path';
import { VigilInputError, invalidArgument } from '../core/errors.js';
import { listImageFiles } from '../vision/index.js';
import { resolveGenerators } from './eval.js';
import { fuse } from './fusion.js';
import { decisionValue, fitLogisticCv } from './logistic.js';
import { bootstrapMetrics, type BootstrapOptions, type MetricEstimate } from './metrics.js';
import { FEATURE_SIGNALS } from './signals/index.js';
import { extractItems, fitProbe, foldAssignment, groupFiles, scoreItem, type TrainingItem } from './train.js';

/**
 * Cross-family evaluation (DeepfakeBench's protocol): for each artifact family, train on every
 * other family and test on the one left out, so the numbers say how the screener does on a
 * generator it never saw. Beside it, Durall et al. 2020's baseline (azimuthally averaged power
 * spectrum + logistic regression) trained on exactly the same images, so a user sees vigil and a
 * simple published method side by side. Pixel signals and metadata only (no CLIP/MAE): each
 * family's probe is trained here, from one feature extraction per image.
 */
export interface FamilyEvalOptions {
  trainRealDirs: string[];
  trainFakeDirs: string[];
  /** Real images the thresholds are set on (held out from training). */
  calibrationDirs?: string[];
  testRealDirs: string[];
  testFakeDirs: string[];
  groupsCsv?: string;
  pairBy?: 'stem';
  seed: number;
  folds: number;
  targetFpr: number;
  uncertainFpr: number;
  bootstrap: BootstrapOptions;
  /** Leave each family out in turn (else: train once on all families). */
  leaveOneOut: boolean;
  onItem?: () => void;
  onTotal?: (total: number) => void;
}

export interface ScorerSummary {
  auc: MetricEstimate;
  ap: MetricEstimate;
  tpr_at_1pct_fpr: MetricEstimate;
}

export interface FamilyResult {
  /** The family tested; with leave-one-out, the family left out of training. */
  family: string;
  /** Families the probe of this row was trained on. */
  trainedOn: string[];
  real: number;
  fake: number;
  /** vigil's fused score (spectral + residual + metadata), with the probe's likely-synthetic threshold and the TPR there. */
  vigil: ScorerSummary & { threshold: number; tpr_at_threshold: MetricEstimate };
  durall: ScorerSummary;
}

export interface FamilyEvaluation {
  protocol: 'leave-one-family-out' | 'train-all-families';
  families: FamilyResult[];
  train: { real: number; fake: number; calibration: number };
  skipped: { file: string; error: string }[];
}

/** Durall et al.'s feature: the azimuthally averaged log power spectrum (the channels' mean profile). */
export function durallFeatures(spectral: readonly number[]): number[] {
  const bins = spectral.length >= 96 ? 32 : 0;
  if (bins === 0) throw invalidArgument('spectral features', 'the 3 × 32 azimuthal bins first', spectral.length);
  return Array.from({ length: bins }, (_, b) => (spectral[b] + spectral[bins + b] + spectral[2 * bins + b]) / 3);
}

function summary(real: number[], fake: number[], threshold: number, bootstrap: BootstrapOptions): ScorerSummary & { tpr_at_threshold: MetricEstimate } {
  const m = bootstrapMetrics({ real, fake }, threshold, bootstrap);
  return { auc: m.auc, ap: m.ap, tpr_at_1pct_fpr: m.tpr_at_1pct_fpr, tpr_at_threshold: m.tpr_at_threshold };
}

async function listFiles(dirs: readonly string[], what: string): Promise<string[]> {
  const { files, unmatched } = await listImageFiles(dirs);
  if (unmatched.length > 0 || files.length === 0) throw new VigilInputError(`${what}: no images found in ${(unmatched.length ? unmatched : dirs).join(', ')}`, { subject: what });
  return files;
}

/** Every image of a family run, feature-extracted once (training, calibration and test). */
export interface FamilyData {
  realItems: TrainingItem[];
  familyItems: Map<string, TrainingItem[]>;
  calibration: TrainingItem[];
  testRealItems: TrainingItem[];
  testFamilyItems: Map<string, TrainingItem[]>;
  skipped: { file: string; error: string }[];
}

/** Lists and extracts every image of the run (one decode each); refuses test or calibration images that are also training images. */
export async function extractFamilyData(options: FamilyEvalOptions): Promise<FamilyData> {
  const trainReal = await listFiles(options.trainRealDirs, '--train-real');
  const testReal = await listFiles(options.testRealDirs, '--real');
  const calibrationFiles = options.calibrationDirs?.length ? await listFiles(options.calibrationDirs, '--calibration') : [];
  const trainFamilies = await resolveGenerators(options.trainFakeDirs);
  const testFamilies = await resolveGenerators(options.testFakeDirs);
  const trainSet = new Set([...trainReal, ...trainFamilies.flatMap((f) => f.files)].map((f) => resolve(f)));
  const leaked = [...testReal, ...testFamilies.flatMap((f) => f.files), ...calibrationFiles].filter((f) => trainSet.has(resolve(f)));
  if (leaked.length > 0) throw new VigilInputError(`${leaked.length} test or calibration image(s) are also training images (e.g. ${leaked[0]})`);
  const total = trainReal.length + testReal.length + calibrationFiles.length + [...trainFamilies, ...testFamilies].reduce((n, f) => n + f.files.length, 0);
  options.onTotal?.(total);

  const request = { features: FEATURE_SIGNALS.map((f) => f.id), metadata: true, crops: [] };
  const skipped: { file: string; error: string }[] = [];
  const extract = (files: readonly string[], label: 0 | 1) => extractItems(files.map((file) => ({ file, label })), request, skipped, options.onItem);
  const realItems = await extract(trainReal, 0);
  const familyItems = new Map<string, TrainingItem[]>();
  for (const family of trainFamilies) familyItems.set(family.name, await extract(family.files, 1));
  const calibration = await extract(calibrationFiles, 0);
  const testRealItems = await extract(testReal, 0);
  const testFamilyItems = new Map<string, TrainingItem[]>();
  for (const family of testFamilies) testFamilyItems.set(family.name, await extract(family.files, 1));
  return { realItems, familyItems, calibration, testRealItems, testFamilyItems, skipped };
}

export async function evaluateFamilies(options: FamilyEvalOptions): Promise<FamilyEvaluation> {
  return evaluateFamilyData(await extractFamilyData(options), options);
}

/** The family protocol on extracted images: one probe and one Durall baseline per row. */
export async function evaluateFamilyData(data: FamilyData, options: FamilyEvalOptions): Promise<FamilyEvaluation> {
  const { realItems, familyItems, calibration, testRealItems, testFamilyItems, skipped } = data;
  const testFamilies = [...testFamilyItems.keys()];
  const allTrainFamilies = [...familyItems.keys()];
  const rows: FamilyResult[] = [];
  /** Trains one probe and one Durall baseline on the given families, then tests each of `tests` (label, families). */
  const trainAndTest = async (trainedOn: string[], tests: { label: string; families: string[] }[]): Promise<void> => {
    const training = [...realItems, ...trainedOn.flatMap((f) => familyItems.get(f)!)];
    if (training.every((item) => item.label === 0)) throw new VigilInputError(`${tests[0].label}: no synthetic training images left`);
    const groups = await groupFiles(
      training.map((item) => item.file),
      options,
    );
    const probe = fitProbe(
      {
        realDirs: options.trainRealDirs,
        fakeDirs: options.trainFakeDirs,
        calibrationDirs: options.calibrationDirs,
        groupsCsv: options.groupsCsv,
        pairBy: options.pairBy,
        seed: options.seed,
        folds: options.folds,
        targetFpr: options.targetFpr,
        uncertainFpr: options.uncertainFpr,
        maeMasks: 1,
      },
      training,
      calibration,
      groups,
      [],
      {},
    );
    const fusedScore = (item: TrainingItem): number => fuse(probe.fusion, scoreItem(probe, item), false).probability;
    const full = probe.fusion.subsets.find((s) => s.signals.length === probe.signals.length)!;
    // Durall baseline on the same training images and folds.
    const y = training.map((item) => item.label);
    const assignment = foldAssignment(y, groups, options);
    const durall = fitLogisticCv({ x: training.map((item) => durallFeatures(item.features.spectral)), y }, { folds: options.folds, seed: options.seed, assignment }).model;
    const durallScore = (item: TrainingItem): number => decisionValue(durall, durallFeatures(item.features.spectral));
    const realVigil = testRealItems.map(fusedScore);
    const realDurall = testRealItems.map(durallScore);
    for (const { label, families } of tests) {
      const fakes = families.flatMap((f) => testFamilyItems.get(f) ?? []);
      if (fakes.length < 2 || testRealItems.length < 2) continue;
      const vigil = summary(realVigil, fakes.map(fusedScore), full.thresholds.likelySynthetic, options.bootstrap);
      const base = summary(realDurall, fakes.map(durallScore), 0, options.bootstrap);
      rows.push({
        family: label,
        trainedOn,
        real: testRealItems.length,
        fake: fakes.length,
        vigil: { ...vigil, threshold: full.thresholds.likelySynthetic },
        durall: { auc: base.auc, ap: base.ap, tpr_at_1pct_fpr: base.tpr_at_1pct_fpr },
      });
    }
  };

  if (options.leaveOneOut) {
    if (allTrainFamilies.length < 2) throw new VigilInputError('--leave-one-out needs at least two families in --train-fake (one folder per family)');
    for (const family of testFamilies) await trainAndTest(allTrainFamilies.filter((f) => f !== family), [{ label: family, families: [family] }]);
  } else {
    await trainAndTest(allTrainFamilies, [{ label: 'all', families: testFamilies }, ...testFamilies.map((name) => ({ label: name, families: [name] }))]);
  }
  return {
    protocol: options.leaveOneOut ? 'leave-one-family-out' : 'train-all-families',
    families: rows,
    train: { real: realItems.length, fake: [...familyItems.values()].reduce((n, items) => n + items.length, 0), calibration: calibration.length },
    skipped,
  };
}
