import { resolve } from 'node:path';
import { VigilInputError, errorMessage, invalidArgument } from '../core/errors.js';
import { MAX_DOCUMENT_BYTES, readInputFile, sha256Hex } from '../core/files.js';
import { embedImages, loadModel, reconstruct, type ClipModel, type Device, type MaeModel } from '../vision/index.js';
import { heatmapPng, safeStem, spectrumPng, writeEvidence } from './evidence.js';
import { fuse } from './fusion.js';
import { analyzeFast, type FastAnalysis } from './fast-path.js';
import { createFastPool, type FastPool } from './fast-pool.js';
import { DEFAULT_PROBE_PATH, loadProbe, portablePath, resolvePortablePath, type ScreenProbe } from './probe.js';
import type { ProbeSummary, ScreenFileResult } from './result.js';
import { scoreClipProbe } from './signals/clip-probe.js';
import { scoreMaeRecon } from './signals/mae-recon.js';
import { checkDistribution, type DistributionCheck } from './distribution.js';
import { FEATURE_SIGNALS } from './signals/index.js';
import { scoreMetadata } from './signals/metadata.js';
import { scoreFeatures } from './signals/spectral.js';
import { SIGNAL_IDS, type SignalId } from './signals/types.js';

/** A file path, or image bytes held in memory with the name to report them by. */
export type ScreenInput = string | { name: string; bytes: Uint8Array };

export interface ScreenerOptions {
  /** Probe file from `vigil screen train` (default: the probe shipped in fixtures/screen). */
  probePath?: string;
  /** Signals to run (default: every signal the probe was trained with). */
  signals?: readonly SignalId[];
  /** CLIP / MAE folders (default: the folders recorded in the probe). Must be the models the probe was trained with. */
  clipDir?: string;
  maeDir?: string;
  device?: Device;
  /** Vision observation cache (see the vision stack; false disables). */
  cacheDir?: string | false;
  /** Images per model call. */
  batchSize?: number;
  /**
   * Worker threads for decoding, spectral analysis and metadata (0: in the calling thread). The
   * pool starts with the first batch of at least 64 images.
   */
  workers?: number;
}

export interface ScreenBatchOptions {
  /** Results folder; when set, evidence images are written under <evidenceDir>/evidence/. */
  evidenceDir?: string;
  /** Called once per file, for progress bars. */
  onItem?: () => void;
}

export interface Screener {
  probe: ScreenProbe;
  summary: ProbeSummary;
  /** Signals this screener runs. */
  signals: SignalId[];
  /** Screens files or in-memory images, returning one result per input, in input order. A bad input is recorded, never thrown. */
  screen(inputs: readonly ScreenInput[], options?: ScreenBatchOptions): Promise<ScreenFileResult[]>;
  release(): Promise<void>;
}

/** Images handled per step: bounds memory (bytes held) while keeping model batches full. */
const CHUNK = 32;
/** Batches smaller than this run in the calling thread: starting workers would cost more than it saves. */
const POOL_MIN_BATCH = 64;

/** A file's record before screening: status ok, nothing detected, scored or run yet. */
export function blankFileResult(file: string, media: ScreenFileResult['media']): ScreenFileResult {
  return {
    file,
    sha256: null,
    media,
    status: 'ok',
    error: null,
    format: null,
    width: null,
    height: null,
    score: null,
    verdict: null,
    reasons: [],
    signalsRun: [],
    signalsMissing: [],
    thresholds: null,
    distribution: null,
    signals: {},
  };
}

/** The note every output carries when the bundled default probe scored it. */
export const DEFAULT_PROBE_NOTE =
  "bundled default probe: trained on the project's fixtures (synthetic scenes, resampled and autoencoded Debian wallpaper photographs); " +
  'train your own with `vigil screen train` on your real and synthetic images before acting on verdicts';

export function probeSummary(path: string, probe: ScreenProbe): ProbeSummary {
  const bundled = resolve(path) === resolve(DEFAULT_PROBE_PATH);
  return {
    path: portablePath(path),
    origin: bundled
      ? { kind: 'bundled-default', note: DEFAULT_PROBE_NOTE }
      : { kind: 'user-trained', note: `probe trained with vigil screen train on ${probe.trainingSet.real} real and ${probe.trainingSet.fake} synthetic images` },
    createdAt: probe.createdAt,
    trainingSetSha256: probe.trainingSet.sha256,
    signals: probe.signals,
    clipModelSha256: probe.clipProbe?.clipModelSha256 ?? null,
    maeModelSha256: probe.maeRecon?.maeModelSha256 ?? null,
    targetFpr: probe.fusion.targetFpr,
    uncertainFpr: probe.fusion.uncertainFpr,
    thresholdsFrom: probe.calibrationSet ? 'calibration-set' : 'training-folds',
    distributionCheck: probe.distribution !== null,
  };
}

/** Loads a model folder and checks it is the one the probe was trained with. */
async function loadMatchingModel<K extends 'clip' | 'mae'>(
  kind: K,
  dir: string,
  expectedSha256: string,
  probePath: string,
  options: ScreenerOptions,
): Promise<K extends 'clip' ? ClipModel : MaeModel> {
  const model = await loadModel(dir, { device: options.device ?? 'cpu' });
  if (model.kind !== kind) {
    await model.release();
    throw new VigilInputError(`${dir}: expected a ${kind.toUpperCase()} model folder but found a ${model.kind} model`, { subject: dir });
  }
  if (model.sha256 !== expectedSha256) {
    await model.release();
    throw new VigilInputError(
      `${kind.toUpperCase()} model ${dir} (sha256 ${model.sha256.slice(0, 12)}…) is not the model probe ${probePath} was trained with ` +
        `(sha256 ${expectedSha256.slice(0, 12)}…); use that model or retrain the probe with vigil screen train`,
      { subject: dir },
    );
  }
  return model as K extends 'clip' ? ClipModel : MaeModel;
}

/** The signals a run uses: those requested (default: all the probe has), each of which the probe must have trained. */
export function selectSignals(probe: ScreenProbe, requested: readonly SignalId[] | undefined, probePath: string): SignalId[] {
  const wanted = requested ?? probe.signals;
  if (wanted.length === 0) throw invalidArgument('signals', `one or more of ${probe.signals.join(', ')}`, 'none');
  for (const id of wanted) {
    if (!probe.signals.includes(id)) {
      throw invalidArgument('signals', `signals probe ${probePath} was trained with (${probe.signals.join(', ')})`, id);
    }
  }
  return SIGNAL_IDS.filter((id) => wanted.includes(id));
}

export async function createScreener(options: ScreenerOptions = {}): Promise<Screener> {
  const probePath = options.probePath ?? DEFAULT_PROBE_PATH;
  const probe = await loadProbe(probePath);
  const signals = selectSignals(probe, options.signals, probePath);
  const clip = signals.includes('clip-probe')
    ? await loadMatchingModel('clip', options.clipDir ?? resolvePortablePath(probe.clipProbe!.clipModelDir), probe.clipProbe!.clipModelSha256, probePath, options)
    : undefined;
  let mae: MaeModel | undefined;
  try {
    mae = signals.includes('mae-recon')
      ? await loadMatchingModel('mae', options.maeDir ?? resolvePortablePath(probe.maeRecon!.maeModelDir), probe.maeRecon!.maeModelSha256, probePath, options)
      : undefined;
  } catch (error) {
    await clip?.release();
    throw error;
  }
  const runOptions = { cacheDir: options.cacheDir, batchSize: options.batchSize };
  // Model inputs: native-resolution centre crops cut during the one decode (CLIP first, then MAE).
  // The distribution check needs its signals' features even when they are not requested for scoring.
  const featureIds = FEATURE_SIGNALS.map((f) => f.id).filter((id) => signals.includes(id) || probe.distribution?.signals.includes(id));
  const fastRequest = {
    features: featureIds,
    metadata: signals.includes('metadata'),
    crops: [clip, mae].flatMap((model) => (model ? [model.preprocessing.inputSize] : [])),
  };
  const cropIndex = { clip: 0, mae: clip ? 1 : 0 };
  const workers = options.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) throw invalidArgument('workers', 'a non-negative integer', workers);
  // Started on the first batch worth it, so single-image callers (the service) never pay for threads.
  let pool: FastPool | undefined;
  let evidenceCounter = 0;

  async function screenChunk(inputs: readonly ScreenInput[], batch: ScreenBatchOptions): Promise<ScreenFileResult[]> {
    const items = await Promise.all(
      inputs.map(async (input) => {
        const name = typeof input === 'string' ? input : input.name;
        const result: ScreenFileResult = {
          ...blankFileResult(name, 'image'),
          signalsMissing: probe.signals.filter((id) => !signals.includes(id)).map((signal) => ({ signal, reason: 'not requested (--signals)' })),
        };
        const scores: Partial<Record<SignalId, number>> = {};
        const item = {
          result,
          scores,
          bytes: undefined as Uint8Array | undefined,
          crops: [] as (Uint8Array | null)[],
          declared: false,
          distribution: null as DistributionCheck | null,
          index: evidenceCounter++,
        };
        try {
          const bytes = typeof input === 'string' ? await readInputFile(input, { what: 'image', maxBytes: MAX_DOCUMENT_BYTES }) : input.bytes;
          item.bytes = bytes;
          result.sha256 = sha256Hex(bytes);
          const fast = pool ? await pool.analyze(bytes, name, fastRequest) : await analyzeFast(bytes, name, fastRequest);
          Object.assign(result, { format: fast.format, width: fast.width, height: fast.height });
          item.crops = fast.crops;
          for (const signal of FEATURE_SIGNALS) {
            const outcome = fast.features[signal.id];
            if (!outcome || !signals.includes(signal.id)) continue;
            if ('error' in outcome) {
              result.signalsMissing.push({ signal: signal.id, reason: outcome.error });
              continue;
            }
            const { extraction } = outcome;
            const score = scoreFeatures(extraction.features, probe[signal.id]!);
            if (signal.id === 'spectral' && extraction.spectrum) {
              const { spectrum } = extraction;
              const evidence = batch.evidenceDir
                ? await writeEvidence(batch.evidenceDir, `${String(item.index).padStart(4, '0')}-${safeStem(name)}-spectrum.png`, await spectrumPng(spectrum.logPower, spectrum.tile))
                : null;
              result.signals.spectral = { ...score, tile: spectrum.tile, tiles: spectrum.tiles, evidence };
            } else if (signal.id === 'residual') {
              result.signals.residual = { ...score, statistic: extraction.statistic ?? 0 };
            }
            scores[signal.id] = score.score;
          }
          item.distribution = distributionOf(fast.features, fast.width, fast.height);
          if (fast.metadata) {
            const score = scoreMetadata(fast.metadata);
            result.signals.metadata = { ...score, facts: fast.metadata };
            scores.metadata = score.score;
            item.declared = score.declared;
          }
        } catch (error) {
          result.status = 'error';
          result.error = errorMessage(error);
          item.bytes = undefined;
        }
        return item;
      }),
    );
    const decodable = items.filter((item) => item.bytes !== undefined);
    const modelInputs = (crop: number) => decodable.map((item) => ({ name: item.result.file, bytes: item.crops[crop] ?? item.bytes! }));
    if (clip && decodable.length > 0) {
      let i = 0;
      for await (const observation of embedImages(clip, modelInputs(cropIndex.clip), runOptions)) {
        const item = decodable[i++];
        if (observation.error !== undefined) {
          item.result.signalsMissing.push({ signal: 'clip-probe', reason: observation.error });
          continue;
        }
        const score = scoreClipProbe(observation.embedding, probe.clipProbe!);
        item.result.signals['clip-probe'] = score;
        item.scores['clip-probe'] = score.score;
      }
    }
    if (mae && decodable.length > 0) {
      const model = probe.maeRecon!;
      const grid = Math.round(Math.sqrt(mae.numPatches));
      let i = 0;
      for await (const observation of reconstruct(mae, modelInputs(cropIndex.mae), { ...runOptions, seed: model.seed, masks: model.masks })) {
        const item = decodable[i++];
        if (observation.error !== undefined) {
          item.result.signalsMissing.push({ signal: 'mae-recon', reason: observation.error });
          continue;
        }
        const score = scoreMaeRecon(observation.reconstructionError, model);
        const evidence = batch.evidenceDir
          ? await writeEvidence(batch.evidenceDir, `${String(item.index).padStart(4, '0')}-${safeStem(item.result.file)}-mae-error.png`, await heatmapPng(observation.patchErrors, grid))
          : null;
        item.result.signals['mae-recon'] = { ...score, masks: observation.masks, evidence };
        item.scores['mae-recon'] = score.score;
      }
    }
    for (const item of items) {
      batch.onItem?.();
      if (item.result.status === 'error') continue;
      item.result.distribution = item.distribution;
      finishResult(item.result, item.scores, item.declared);
    }
    return items.map((item) => item.result);
  }

  return {
    probe,
    summary: probeSummary(probePath, probe),
    signals,
    async screen(inputs, batch = {}) {
      if (!pool && workers > 0 && inputs.length >= POOL_MIN_BATCH) pool = createFastPool(workers);
      const results: ScreenFileResult[] = [];
      for (let start = 0; start < inputs.length; start += CHUNK) results.push(...(await screenChunk(inputs.slice(start, start + CHUNK), batch)));
      return results;
    },
    async release() {
      await pool?.close();
      await clip?.release();
      await mae?.release();
    },
  };

  /** The distribution check of one image, when the probe has a model and its features were extracted. */
  function distributionOf(features: FastAnalysis['features'], width: number, height: number): DistributionCheck | null {
    const model = probe.distribution;
    if (!model) return null;
    const row: number[] = [];
    for (const id of model.signals) {
      const outcome = features[id];
      if (!outcome || 'error' in outcome) {
        return { inDistribution: false, distance: null, threshold: model.threshold, why: [`${id} could not analyse it (${outcome && 'error' in outcome ? outcome.error : 'not run'})`] };
      }
      row.push(...outcome.extraction.features);
    }
    return checkDistribution(model, row, width, height);
  }

  /** Fuses the signal scores into the file's score, verdict and reasons. */
  function finishResult(result: ScreenFileResult, scores: Partial<Record<SignalId, number>>, declared: boolean): void {
    result.signalsRun = SIGNAL_IDS.filter((id) => scores[id] !== undefined);
    if (result.signalsRun.length === 0) {
      result.status = 'error';
      result.error = `no signal could score this image (${result.signalsMissing.map((m) => `${m.signal}: ${m.reason}`).join('; ')})`;
      return;
    }
    const outOfDistribution = result.distribution !== null && !result.distribution.inDistribution;
    const metadata = result.signals.metadata;
    const aiInvolved = metadata?.aiInvolved === true;
    const fused = fuse(probe.fusion, scores, declared, outOfDistribution, aiInvolved);
    result.score = fused.probability;
    result.verdict = fused.verdict;
    result.thresholds = fused.thresholds;
    if (declared && metadata) result.reasons.push(`metadata declares AI generation: ${metadata.findings[0]}`);
    if (aiInvolved) result.reasons.push(`metadata says generative AI was involved, so the verdict is at least uncertain: ${metadata.findings[0]}`);
    const p = fused.probability.toFixed(3);
    if (outOfDistribution && !declared) {
      result.reasons.push(
        `out-of-distribution: cannot tell (fused P(synthetic) ${p} is an extrapolation): ${result.distribution!.why.join('; ')}`,
      );
    } else if (fused.verdict === 'likely-synthetic' && !declared) {
      result.reasons.push(`fused P(synthetic) ${p} above the likely-synthetic threshold ${fused.thresholds.likelySynthetic.toFixed(3)} (set for ${probe.fusion.targetFpr * 100}% FPR)`);
    } else if (fused.verdict === 'uncertain' && fused.probability <= fused.thresholds.uncertain) {
      result.reasons.push(`fused P(synthetic) ${p}: below the uncertain threshold ${fused.thresholds.uncertain.toFixed(3)}: the signals found no evidence of synthesis on their own; uncertain because of the declared AI involvement above`);
    } else if (fused.verdict === 'uncertain') {
      result.reasons.push(`fused P(synthetic) ${p} above the uncertain threshold ${fused.thresholds.uncertain.toFixed(3)} (set for ${probe.fusion.uncertainFpr * 100}% FPR)`);
    } else if (fused.verdict === 'no-evidence') {
      result.reasons.push(`fused P(synthetic) ${p}: the signals found no evidence of synthesis (this does not establish authenticity)`);
    }
    const ranked = [...result.signalsRun].sort((a, b) => scores[b]! - scores[a]!);
    result.reasons.push(ranked.map((id) => `${id} ${scores[id]!.toFixed(3)}`).join(', '));
    if (metadata && !declared) result.reasons.push(...metadata.findings.map((f) => `metadata: ${f}`));
    if (result.signalsMissing.length > 0) result.reasons.push(`not run: ${result.signalsMissing.map((m) => m.signal).join(', ')}`);
  }
}
