import { readFile } from 'node:fs/promises';
import { VigilInputError, errorMessage, invalidArgument } from '../core/errors.js';
import { sha256Hex } from '../core/files.js';
import { VIGIL_VERSION } from '../core/version.js';
import { embedImages, listImageFiles, loadModel, reconstruct, type Device, type VisionModel } from '../vision/index.js';
import { trainFusion } from './fusion.js';
import { analyzeFast } from './fast-path.js';
import { applyPlatt, fitLogisticCv, fitPlatt, sigmoid } from './logistic.js';
import { computeMetrics, type MetricValues } from './metrics.js';
import { portablePath, type ScreenProbe } from './probe.js';
import { scoreMetadata } from './signals/metadata.js';
import { SPECTRAL_FEATURE_NAMES } from './signals/spectral.js';
import { SIGNAL_IDS, type SignalId } from './signals/types.js';

export interface TrainOptions {
  realDirs: string[];
  fakeDirs: string[];
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

interface TrainingItem {
  file: string;
  label: 0 | 1;
  /** What the CLIP / MAE models are fed (centre crops, or the file when smaller than the input). */
  modelInputs: Uint8Array[];
  sha256: string;
  spectral: number[];
  metadata: number;
  embedding?: Float32Array;
  maeError?: number;
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
  options.onTotal?.(listed.length);
  const skipped: { file: string; error: string }[] = [];
  const device = options.device ?? 'cpu';
  const clip = options.clipDir ? await loadModel(options.clipDir, { device }) : undefined;
  let mae: VisionModel | undefined;
  try {
    mae = options.maeDir ? await loadModel(options.maeDir, { device }) : undefined;
    if (clip && clip.kind !== 'clip') throw new VigilInputError(`--model ${options.clipDir}: expected a CLIP model folder but found a ${clip.kind} model`, { subject: options.clipDir });
    if (mae && mae.kind !== 'mae') throw new VigilInputError(`--mae ${options.maeDir}: expected an MAE model folder but found a ${mae.kind} model`, { subject: options.maeDir });
    // One decode per image gives the spectral features, the metadata and the native-resolution
    // centre crops the model signals see: exactly what the screener computes.
    const request = {
      spectral: true,
      metadata: true,
      crops: [clip, mae].flatMap((model) => (model ? [model.preprocessing.inputSize] : [])),
    };
    const items: TrainingItem[] = [];
    for (const { file, label } of listed) {
      try {
        const bytes = await readFile(file);
        const fast = await analyzeFast(bytes, file, request);
        if (fast.spectral === null || 'error' in fast.spectral) throw new VigilInputError(`${file}: ${fast.spectral?.error ?? 'no spectrum'}`);
        items.push({
          file,
          label,
          sha256: sha256Hex(bytes),
          spectral: fast.spectral.analysis.features,
          metadata: scoreMetadata(fast.metadata!).score,
          modelInputs: fast.crops.map((crop) => crop ?? bytes),
        });
      } catch (error) {
        skipped.push({ file, error: errorMessage(error) });
      }
      options.onItem?.();
    }
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
    return fitProbe(options, items, skipped, {
      clip: clip?.kind === 'clip' ? { sha256: clip.sha256, dir: portablePath(options.clipDir!), embeddingSize: clip.embeddingSize } : undefined,
      mae: mae ? { sha256: mae.sha256, dir: portablePath(options.maeDir!) } : undefined,
    });
  } finally {
    await clip?.release();
    await mae?.release();
  }
}

/** Fits every trained component from the extracted features (pure apart from the clock). */
function fitProbe(
  options: TrainOptions,
  items: TrainingItem[],
  skipped: { file: string; error: string }[],
  models: { clip?: { sha256: string; dir: string; embeddingSize: number }; mae?: { sha256: string; dir: string } },
): ScreenProbe {
  const clipInfo = models.clip;
  const maeInfo = models.mae;
  // Every trained signal must score every training image, so the fusion sees complete rows.
  const usable = items.filter((item) => {
    const reasons = [options.clipDir && !item.embedding ? 'CLIP embedding failed' : '', options.maeDir && item.maeError === undefined ? 'MAE reconstruction failed' : ''].filter(Boolean);
    if (reasons.length > 0) skipped.push({ file: item.file, error: reasons.join('; ') });
    return reasons.length === 0;
  });
  const y = usable.map((item) => item.label);
  const real = y.filter((v) => v === 0).length;
  if (real < options.folds || usable.length - real < options.folds) {
    throw new VigilInputError(`training needs at least ${options.folds} usable real and ${options.folds} usable fake images (got ${real} real, ${usable.length - real} fake)`);
  }
  const cv = { folds: options.folds, seed: options.seed };
  const heldOut: Partial<Record<SignalId, number>>[] = usable.map(() => ({}));
  const validation: Partial<Record<SignalId | 'fused', MetricValues>> = {};

  const spectralFit = fitLogisticCv({ x: usable.map((item) => item.spectral), y }, cv);
  const spectralCalibration = fitPlatt(spectralFit.outOfFold, y);
  spectralFit.outOfFold.forEach((d, i) => (heldOut[i].spectral = applyPlatt(spectralCalibration, d)));
  validation.spectral = validationOf(spectralFit.outOfFold.map(sigmoid), y, 0.5);

  let clipProbe: ScreenProbe['clipProbe'] = null;
  if (clipInfo) {
    const fit = fitLogisticCv({ x: usable.map((item) => Array.from(item.embedding!)), y }, cv);
    const calibration = fitPlatt(fit.outOfFold, y);
    fit.outOfFold.forEach((d, i) => (heldOut[i]['clip-probe'] = applyPlatt(calibration, d)));
    validation['clip-probe'] = validationOf(fit.outOfFold.map(sigmoid), y, 0.5);
    clipProbe = {
      clipModelSha256: clipInfo.sha256,
      clipModelDir: clipInfo.dir,
      embeddingSize: clipInfo.embeddingSize,
      model: fit.model,
      calibration,
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
    const calibration = fitPlatt(z, y);
    z.forEach((v, i) => (heldOut[i]['mae-recon'] = applyPlatt(calibration, v)));
    validation['mae-recon'] = validationOf(z.map((v) => applyPlatt(calibration, v)), y, 0.5);
    maeRecon = { maeModelSha256: maeInfo.sha256, maeModelDir: maeInfo.dir, masks: options.maeMasks, seed: options.seed, realLogErrorMean: mean, realLogErrorStd: std, calibration };
  }

  usable.forEach((item, i) => (heldOut[i].metadata = item.metadata));
  validation.metadata = validationOf(usable.map((item) => item.metadata), y, 0.5);

  const signals = SIGNAL_IDS.filter((id) => heldOut[0][id] !== undefined);
  const { fusion, heldOutFused } = trainFusion(heldOut, y, signals, { targetFpr: options.targetFpr, uncertainFpr: options.uncertainFpr, ...cv });
  const full = fusion.subsets.find((s) => s.signals.length === signals.length)!;
  validation.fused = validationOf(heldOutFused, y, full.thresholds.likelySynthetic);

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
    signals,
    spectral: { featureNames: [...SPECTRAL_FEATURE_NAMES], model: spectralFit.model, calibration: spectralCalibration },
    clipProbe,
    maeRecon,
    fusion,
    validation,
  };
}
