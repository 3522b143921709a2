import { readFile } from 'node:fs/promises';
import { VigilInputError, errorMessage, invalidArgument } from '../core/errors.js';
import { sha256Hex } from '../core/files.js';
import { VIGIL_VERSION } from '../core/version.js';
import { embedImages, listImageFiles, loadModel, reconstruct, type ClipModel, type Device, type MaeModel } from '../vision/index.js';
import { trainFusion } from './fusion.js';
import { decodeGray, nativeCenterCrop } from './image.js';
import { applyPlatt, fitLogisticCv, fitPlatt, sigmoid } from './logistic.js';
import { computeMetrics, type MetricValues } from './metrics.js';
import { portablePath, type ScreenProbe } from './probe.js';
import { readMetadataFacts, scoreMetadata } from './signals/metadata.js';
import { analyzeSpectrum, SPECTRAL_FEATURE_NAMES } from './signals/spectral.js';
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
  bytes: Uint8Array;
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
  const items: TrainingItem[] = [];
  for (const { file, label } of listed) {
    try {
      const bytes = await readFile(file);
      const image = await decodeGray(bytes, file);
      items.push({
        file,
        label,
        bytes,
        sha256: sha256Hex(bytes),
        spectral: analyzeSpectrum(image).features,
        metadata: scoreMetadata(await readMetadataFacts(bytes)).score,
      });
    } catch (error) {
      skipped.push({ file, error: errorMessage(error) });
    }
    options.onItem?.();
  }
  // Model signals see the centre of the image at native resolution, exactly as the screener feeds them.
  const inputs = (model: ClipModel | MaeModel) =>
    Promise.all(items.map(async (item) => ({ name: item.file, bytes: await nativeCenterCrop(item.bytes, model.preprocessing.inputSize, item.file) })));
  const runOptions = { cacheDir: options.cacheDir };
  let clipInfo: { sha256: string; dir: string; embeddingSize: number } | undefined;
  let maeInfo: { sha256: string; dir: string } | undefined;
  if (options.clipDir) {
    const model = await loadModel(options.clipDir, { device: options.device ?? 'cpu' });
    try {
      if (model.kind !== 'clip') throw new VigilInputError(`--model ${options.clipDir}: expected a CLIP model folder but found a ${model.kind} model`, { subject: options.clipDir });
      clipInfo = { sha256: model.sha256, dir: portablePath(options.clipDir), embeddingSize: model.embeddingSize };
      let i = 0;
      for await (const observation of embedImages(model, await inputs(model), runOptions)) {
        const item = items[i++];
        if (observation.error === undefined) item.embedding = observation.embedding;
      }
    } finally {
      await model.release();
    }
  }
  if (options.maeDir) {
    const model = await loadModel(options.maeDir, { device: options.device ?? 'cpu' });
    try {
      if (model.kind !== 'mae') throw new VigilInputError(`--mae ${options.maeDir}: expected an MAE model folder but found a ${model.kind} model`, { subject: options.maeDir });
      maeInfo = { sha256: model.sha256, dir: portablePath(options.maeDir) };
      let i = 0;
      for await (const observation of reconstruct(model, await inputs(model), { ...runOptions, seed: options.seed, masks: options.maeMasks })) {
        const item = items[i++];
        if (observation.error === undefined) item.maeError = observation.reconstructionError;
      }
    } finally {
      await model.release();
    }
  }
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
