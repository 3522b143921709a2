import { basename, dirname, extname, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { VigilInputError, errorMessage, invalidArgument } from '../core/errors.js';
import { MAX_CONFIG_BYTES, MAX_DOCUMENT_BYTES, readInputFile, sha256Hex } from '../core/files.js';
import { VIGIL_VERSION } from '../core/version.js';
import { embedImages, listImageFiles, loadModel, reconstruct, type Device, type VisionModel } from '../vision/index.js';
import { fitDistribution } from './distribution.js';
import { calibrateThresholds, trainFusion } from './fusion.js';
import { analyzeFast, type FastRequest } from './fast-path.js';
import { applyPlatt, fitLogisticCv, fitPlatt, groupedFolds, sigmoid, stratifiedFolds } from './logistic.js';
import { computeMetrics, type MetricValues } from './metrics.js';
import { portablePath, type ScreenProbe } from './probe.js';
import { FEATURE_SIGNALS, type FeatureSignalId } from './signals/index.js';
import { scoreClipProbe } from './signals/clip-probe.js';
import { scoreMaeRecon } from './signals/mae-recon.js';
import { scoreMetadata } from './signals/metadata.js';
import { scoreFeatures, type FeatureModel } from './signals/spectral.js';
import { SIGNAL_IDS, type SignalId } from './signals/types.js';

/** Below this many images of a class, out-of-fold metrics and thresholds are too noisy to trust: train warns. */
export const MIN_PER_CLASS = 20;

export interface TrainOptions {
  realDirs: string[];
  fakeDirs: string[];
  /**
   * Real images to set the thresholds (and the distribution check) on, never trained on: the
   * realised false-positive rate then holds for new images like them (split conformal).
   */
  calibrationDirs?: string[];
  /** CSV (columns file, group) mapping images to groups (a photograph and everything derived from it). */
  groupsCsv?: string;
  /** Group images by file stem (an image and its altered copies share a name in different folders). */
  pairBy?: 'stem';
  /** CLIP folder for the probe; without it the probe has no clip-probe signal. */
  clipDir?: string;
  /** MAE folder for the reconstruction signal; without it, no mae-recon signal. */
  maeDir?: string;
  /** Seed of the cross-validation folds (and of the MAE masks). */
  seed: number;
  folds: number;
  /** Target FPR of likely-synthetic, and of uncertain-or-worse. */
  targetFpr: number;
  uncertainFpr: number;
  /** MAE masks averaged per image. */
  maeMasks: number;
  device?: Device;
  cacheDir?: string | false;
  onItem?: () => void;
  /** Called once the number of images is known. */
  onTotal?: (total: number) => void;
}

export interface TrainingItem {
  file: string;
  label: 0 | 1;
  /** What the CLIP / MAE models are fed (centre crops, or the file when smaller than the input). */
  modelInputs: Uint8Array[];
  sha256: string;
  width: number;
  height: number;
  /** Features of every pixel-feature signal of the registry. */
  features: Record<FeatureSignalId, number[]>;
  metadata: number;
  embedding?: Float32Array;
  maeError?: number;
}

/** One decode per image gives every pixel-feature signal, the metadata and the model crops: exactly what the screener computes. */
export async function extractItems(
  listed: readonly { file: string; label: 0 | 1 }[],
  request: FastRequest,
  skipped: { file: string; error: string }[],
  onItem?: () => void,
): Promise<TrainingItem[]> {
  const items: TrainingItem[] = [];
  for (const { file, label } of listed) {
    try {
      const bytes = await readInputFile(file, { what: 'image', maxBytes: MAX_DOCUMENT_BYTES });
      const fast = await analyzeFast(bytes, file, request);
      const features = {} as Record<FeatureSignalId, number[]>;
      for (const signal of FEATURE_SIGNALS) {
        const outcome = fast.features[signal.id];
        if (!outcome || 'error' in outcome) throw new VigilInputError(`${file}: ${outcome && 'error' in outcome ? outcome.error : `no ${signal.id} features`}`);
        features[signal.id] = outcome.extraction.features;
      }
      items.push({
        file,
        label,
        sha256: sha256Hex(bytes),
        width: fast.width,
        height: fast.height,
        features,
        metadata: scoreMetadata(fast.metadata!).score,
        modelInputs: fast.crops.map((crop) => crop ?? bytes),
      });
    } catch (error) {
      skipped.push({ file, error: errorMessage(error) });
    }
    onItem?.();
  }
  return items;
}

/** The group of every file: from a CSV (file, group; paths relative to the CSV's folder), by stem, or each file its own. */
export async function groupFiles(files: readonly string[], options: Pick<TrainOptions, 'groupsCsv' | 'pairBy'>): Promise<string[]> {
  if (options.groupsCsv !== undefined && options.pairBy !== undefined) throw invalidArgument('--groups/--pair-by', 'at most one of them', 'both');
  if (options.pairBy === 'stem') return files.map((file) => basename(file, extname(file)));
  if (options.groupsCsv === undefined) return files.map((file) => resolve(file));
  const csv = options.groupsCsv;
  let records: Record<string, string>[];
  try {
    records = parse((await readInputFile(csv, { what: '--groups CSV', maxBytes: MAX_CONFIG_BYTES })).toString('utf8'), { columns: true, bom: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (error) {
    throw new VigilInputError(`--groups ${csv}: cannot read a CSV with columns file,group (${errorMessage(error)})`, { subject: csv });
  }
  const byPath = new Map<string, string>();
  for (const [i, record] of records.entries()) {
    if (typeof record.file !== 'string' || typeof record.group !== 'string' || record.file === '' || record.group === '') {
      throw new VigilInputError(`--groups ${csv}: row ${i + 2}: expected columns file and group, both non-empty, received ${JSON.stringify(record)}`, { subject: csv });
    }
    byPath.set(resolve(dirname(csv), record.file), record.group);
  }
  const missing = files.filter((file) => !byPath.has(resolve(file)));
  if (missing.length > 0) {
    throw new VigilInputError(`--groups ${csv}: no group for ${missing.length} image(s), e.g. ${missing[0]} (paths in the CSV are relative to its folder)`, { subject: csv });
  }
  return files.map((file) => byPath.get(resolve(file))!);
}

async function listLabeled(dirs: string[], label: 0 | 1, what: string): Promise<{ file: string; label: 0 | 1 }[]> {
  const { files, unmatched } = await listImageFiles(dirs);
  if (unmatched.length > 0) throw new VigilInputError(`--${what}: no images found in ${unmatched.join(', ')}`, { subject: what });
  return files.map((file) => ({ file, label }));
}

function validationOf(heldOut: readonly number[], y: readonly number[], threshold: number): MetricValues {
  return computeMetrics({ real: heldOut.filter((_, i) => y[i] === 0), fake: heldOut.filter((_, i) => y[i] === 1) }, threshold);
}

/**
 * Trains every screening component on labeled folders and returns the probe: the spectral
 * logistic model and the CLIP probe (standardisation, L2, C by stratified k-fold log-loss), the
 * MAE normalisation, Platt calibration of each on out-of-fold scores, then the fusion and its
 * thresholds on cross-fitted fused scores.
 */
export async function trainProbe(options: TrainOptions): Promise<ScreenProbe> {
  if (!Number.isInteger(options.folds) || options.folds < 2) throw invalidArgument('folds', 'an integer >= 2', options.folds);
  if (!Number.isInteger(options.maeMasks) || options.maeMasks < 1) throw invalidArgument('masks', 'a positive integer', options.maeMasks);
  const listed = [...(await listLabeled(options.realDirs, 0, 'real')), ...(await listLabeled(options.fakeDirs, 1, 'fake'))];
  const calibrationListed = options.calibrationDirs?.length ? await listLabeled(options.calibrationDirs, 0, 'calibration') : [];
  const trainingFiles = new Set(listed.map((l) => resolve(l.file)));
  const overlap = calibrationListed.filter((l) => trainingFiles.has(resolve(l.file)));
  if (overlap.length > 0) throw new VigilInputError(`--calibration: ${overlap.length} image(s) are also training images (e.g. ${overlap[0].file}); calibration images must be held out`, { subject: 'calibration' });
  const calibrationFiles = new Set(calibrationListed.map((l) => resolve(l.file)));
  options.onTotal?.(listed.length + calibrationListed.length);
  const skipped: { file: string; error: string }[] = [];
  const device = options.device ?? 'cpu';
  const clip = options.clipDir ? await loadModel(options.clipDir, { device }) : undefined;
  let mae: VisionModel | undefined;
  try {
    mae = options.maeDir ? await loadModel(options.maeDir, { device }) : undefined;
    if (clip && clip.kind !== 'clip') throw new VigilInputError(`--model ${options.clipDir}: expected a CLIP model folder but found a ${clip.kind} model`, { subject: options.clipDir });
    if (mae && mae.kind !== 'mae') throw new VigilInputError(`--mae ${options.maeDir}: expected an MAE model folder but found a ${mae.kind} model`, { subject: options.maeDir });
    const request: FastRequest = {
      features: FEATURE_SIGNALS.map((f) => f.id),
      metadata: true,
      crops: [clip, mae].flatMap((model) => (model ? [model.preprocessing.inputSize] : [])),
    };
    const items = await extractItems([...listed, ...calibrationListed], request, skipped, options.onItem);
    const runOptions = { cacheDir: options.cacheDir };
    const inputs = (crop: number) => items.map((item) => ({ name: item.file, bytes: item.modelInputs[crop] }));
    if (clip?.kind === 'clip') {
      let i = 0;
      for await (const observation of embedImages(clip, inputs(0), runOptions)) {
        const item = items[i++];
        if (observation.error === undefined) item.embedding = observation.embedding;
      }
    }
    if (mae?.kind === 'mae') {
      let i = 0;
      for await (const observation of reconstruct(mae, inputs(clip ? 1 : 0), { ...runOptions, seed: options.seed, masks: options.maeMasks })) {
        const item = items[i++];
        if (observation.error === undefined) item.maeError = observation.reconstructionError;
      }
    }
    const training = items.filter((item) => !calibrationFiles.has(resolve(item.file)));
    const calibration = items.filter((item) => calibrationFiles.has(resolve(item.file)));
    const groups = await groupFiles(training.map((item) => item.file), options);
    return fitProbe(options, training, calibration, groups, skipped, {
      clip: clip?.kind === 'clip' ? { sha256: clip.sha256, dir: portablePath(options.clipDir!), embeddingSize: clip.embeddingSize } : undefined,
      mae: mae ? { sha256: mae.sha256, dir: portablePath(options.maeDir!) } : undefined,
    });
  } finally {
    await clip?.release();
    await mae?.release();
  }
}

/**
 * Cross-validation folds of the training rows: group-aware when the images are grouped (--groups,
 * --pair-by; refused with fewer groups than folds), else stratified by label.
 */
export function foldAssignment(y: readonly number[], groups: readonly string[], options: Pick<TrainOptions, 'groupsCsv' | 'pairBy' | 'folds' | 'seed'>): number[] {
  if (options.groupsCsv === undefined && options.pairBy === undefined) return stratifiedFolds(y, options.folds, options.seed);
  const groupCount = new Set(groups).size;
  if (groupCount < options.folds) throw new VigilInputError(`group-aware folds need at least ${options.folds} groups (got ${groupCount})`);
  return groupedFolds(y, groups, options.folds, options.seed);
}

export interface ModelInfo {
  clip?: { sha256: string; dir: string; embeddingSize: number };
  mae?: { sha256: string; dir: string };
}

/**
 * Fits every trained component from the extracted features (pure apart from the clock): each
 * pixel-feature signal of the registry, the CLIP probe, the MAE normalisation, their Platt
 * calibrations on out-of-fold scores (folds by group), the fusion; then the thresholds and the
 * distribution check on the calibration images when there are some (scored by the final models,
 * which never saw them), else on cross-fitted training scores.
 */
export function fitProbe(
  options: TrainOptions,
  items: TrainingItem[],
  calibrationItems: TrainingItem[],
  groups: readonly string[],
  skipped: { file: string; error: string }[],
  models: ModelInfo,
): ScreenProbe {
  const clipInfo = models.clip;
  const maeInfo = models.mae;
  const groupOf = new Map(items.map((item, i) => [item, groups[i]]));
  // Every trained signal must score every training image, so the fusion sees complete rows.
  const complete = (item: TrainingItem): boolean => {
    const reasons = [clipInfo && !item.embedding ? 'CLIP embedding failed' : '', maeInfo && item.maeError === undefined ? 'MAE reconstruction failed' : ''].filter(Boolean);
    if (reasons.length > 0) skipped.push({ file: item.file, error: reasons.join('; ') });
    return reasons.length === 0;
  };
  const usable = items.filter(complete);
  const calibration = calibrationItems.filter(complete);
  const y = usable.map((item) => item.label);
  const real = y.filter((v) => v === 0).length;
  if (real < options.folds || usable.length - real < options.folds) {
    throw new VigilInputError(`training needs at least ${options.folds} usable real and ${options.folds} usable fake images (got ${real} real, ${usable.length - real} fake)`);
  }
  const warnings: string[] = [];
  for (const [what, n] of [['real', real], ['synthetic', usable.length - real]] as const) {
    if (n < MIN_PER_CLASS) warnings.push(`only ${n} ${what} training images (fewer than ${MIN_PER_CLASS}): out-of-fold metrics and thresholds are noisy`);
  }
  if (calibration.length > 0 && calibration.length < 1 / options.targetFpr) {
    warnings.push(`only ${calibration.length} calibration images: at least ${Math.ceil(1 / options.targetFpr)} are needed to set a ${options.targetFpr * 100}% FPR threshold (none is flagged by score below that)`);
  }
  const usableGroups = usable.map((item) => groupOf.get(item)!);
  const groupCount = new Set(usableGroups).size;
  const cv = { folds: options.folds, seed: options.seed, assignment: foldAssignment(y, usableGroups, options) };
  const heldOut: Partial<Record<SignalId, number>>[] = usable.map(() => ({}));
  const validation: Partial<Record<SignalId | 'fused', MetricValues>> = {};

  const featureModels: Partial<Record<FeatureSignalId, FeatureModel>> = {};
  for (const signal of FEATURE_SIGNALS) {
    const fit = fitLogisticCv({ x: usable.map((item) => item.features[signal.id]), y }, cv);
    const calibrationMap = fitPlatt(fit.outOfFold, y);
    fit.outOfFold.forEach((d, i) => (heldOut[i][signal.id] = applyPlatt(calibrationMap, d)));
    validation[signal.id] = validationOf(fit.outOfFold.map(sigmoid), y, 0.5);
    featureModels[signal.id] = { featureNames: [...signal.featureNames], model: fit.model, calibration: calibrationMap };
  }

  let clipProbe: ScreenProbe['clipProbe'] = null;
  if (clipInfo) {
    const fit = fitLogisticCv({ x: usable.map((item) => Array.from(item.embedding!)), y }, cv);
    const calibrationMap = fitPlatt(fit.outOfFold, y);
    fit.outOfFold.forEach((d, i) => (heldOut[i]['clip-probe'] = applyPlatt(calibrationMap, d)));
    validation['clip-probe'] = validationOf(fit.outOfFold.map(sigmoid), y, 0.5);
    clipProbe = {
      clipModelSha256: clipInfo.sha256,
      clipModelDir: clipInfo.dir,
      embeddingSize: clipInfo.embeddingSize,
      model: fit.model,
      calibration: calibrationMap,
      cGrid: fit.grid,
      validation: validation['clip-probe'],
    };
  }

  let maeRecon: ScreenProbe['maeRecon'] = null;
  if (maeInfo) {
    const logErrors = usable.map((item) => Math.log(Math.max(item.maeError!, 1e-12)));
    const realLog = logErrors.filter((_, i) => y[i] === 0);
    const mean = realLog.reduce((a, b) => a + b, 0) / realLog.length;
    const std = Math.sqrt(realLog.reduce((a, b) => a + (b - mean) ** 2, 0) / realLog.length) || 1;
    const z = logErrors.map((v) => (v - mean) / std);
    const calibrationMap = fitPlatt(z, y);
    z.forEach((v, i) => (heldOut[i]['mae-recon'] = applyPlatt(calibrationMap, v)));
    validation['mae-recon'] = validationOf(z.map((v) => applyPlatt(calibrationMap, v)), y, 0.5);
    maeRecon = { maeModelSha256: maeInfo.sha256, maeModelDir: maeInfo.dir, masks: options.maeMasks, seed: options.seed, realLogErrorMean: mean, realLogErrorStd: std, calibration: calibrationMap };
  }

  usable.forEach((item, i) => (heldOut[i].metadata = item.metadata));
  validation.metadata = validationOf(usable.map((item) => item.metadata), y, 0.5);

  const signals = SIGNAL_IDS.filter((id) => heldOut[0][id] !== undefined);
  const trained = { spectral: featureModels.spectral ?? null, residual: featureModels.residual ?? null, clipProbe, maeRecon };
  const { fusion: crossFitted, heldOutFused } = trainFusion(heldOut, y, signals, { targetFpr: options.targetFpr, uncertainFpr: options.uncertainFpr, ...cv });
  // With a calibration set, thresholds come from the final models' scores of images none of them saw.
  const fusion = calibration.length > 0 ? calibrateThresholds(crossFitted, calibration.map((item) => scoreItem(trained, item))) : crossFitted;
  const full = fusion.subsets.find((s) => s.signals.length === signals.length)!;
  validation.fused = validationOf(heldOutFused, y, full.thresholds.likelySynthetic);

  const distributionSignals = FEATURE_SIGNALS.map((f) => f.id);
  const row = (item: TrainingItem): number[] => distributionSignals.flatMap((id) => item.features[id]);
  const distribution = fitDistribution(
    distributionSignals,
    usable.map(row),
    calibration.length > 0 ? calibration.map(row) : null,
    [...usable, ...calibration],
  );

  const trainingLines = usable.map((item) => `${item.label}\t${item.sha256}`).sort();
  return {
    format: 'vigil-screen-probe',
    formatVersion: 1,
    createdAt: new Date().toISOString(),
    vigilVersion: VIGIL_VERSION,
    seed: options.seed,
    folds: options.folds,
    trainingSet: {
      sha256: sha256Hex(trainingLines.join('\n')),
      real,
      fake: usable.length - real,
      realDirs: options.realDirs.map(portablePath),
      fakeDirs: options.fakeDirs.map(portablePath),
      skipped,
    },
    grouping: {
      method: options.groupsCsv !== undefined ? 'groups-csv' : options.pairBy === 'stem' ? 'pair-by-stem' : 'stratified',
      groups: groupCount,
      source: options.groupsCsv !== undefined ? portablePath(options.groupsCsv) : null,
    },
    calibrationSet:
      calibration.length > 0
        ? {
            dirs: (options.calibrationDirs ?? []).map(portablePath),
            real: calibration.length,
            sha256: sha256Hex(calibration.map((item) => item.sha256).sort().join('\n')),
            method: 'split-conformal',
          }
        : null,
    warnings,
    signals,
    ...trained,
    distribution,
    fusion,
    validation,
  };
}

/** Per-signal calibrated scores of one item under the final trained models (what the screener would compute). */
export function scoreItem(trained: Pick<ScreenProbe, FeatureSignalId | 'clipProbe' | 'maeRecon'>, item: TrainingItem): Partial<Record<SignalId, number>> {
  const scores: Partial<Record<SignalId, number>> = { metadata: item.metadata };
  for (const signal of FEATURE_SIGNALS) {
    const model = trained[signal.id];
    if (model) scores[signal.id] = scoreFeatures(item.features[signal.id], model).score;
  }
  if (trained.clipProbe && item.embedding) scores['clip-probe'] = scoreClipProbe(item.embedding, trained.clipProbe).score;
  if (trained.maeRecon && item.maeError !== undefined) scores['mae-recon'] = scoreMaeRecon(item.maeError, trained.maeRecon).score;
  return scores;
}
