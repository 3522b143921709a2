import { isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { MAX_CONFIG_BYTES, readInputFile, writeFileAtomic } from '../core/files.js';
import { PACKAGE_ROOT } from '../core/version.js';
import type { FusionModel } from './fusion.js';
import type { MetricValues } from './metrics.js';
import type { ClipProbe } from './signals/clip-probe.js';
import type { MaeReconModel } from './signals/mae-recon.js';
import type { DistributionModel } from './distribution.js';
import { FEATURE_SIGNALS } from './signals/index.js';
import type { FeatureModel } from './signals/spectral.js';
import { SIGNAL_IDS, type SignalId } from './signals/types.js';

/**
 * The probe file written by `vigil screen train`: every trained part of the screener (spectral
 * model, CLIP probe, MAE normalisation, per-signal calibration, fusion and its thresholds) plus
 * what it was trained on. `vigil screen` and `vigil screen eval` load it.
 */
export interface ScreenProbe {
  format: 'vigil-screen-probe';
  formatVersion: 1;
  createdAt: string;
  vigilVersion: string;
  /** Seed of the cross-validation folds. */
  seed: number;
  folds: number;
  trainingSet: {
    /** sha256 over the sorted "label<TAB>image sha256" lines: identifies the exact training images. */
    sha256: string;
    real: number;
    fake: number;
    /** Folders as given to train (relative to the vigil package when inside it). */
    realDirs: string[];
    fakeDirs: string[];
    /** Images that could not be used, with the reason. */
    skipped: { file: string; error: string }[];
  };
  /**
   * How folds were formed: "stratified" (each image its own group) or by group ("groups-csv",
   * "pair-by-stem"), so an image and its altered copies never sit in different folds.
   */
  grouping: { method: 'stratified' | 'groups-csv' | 'pair-by-stem'; groups: number; source: string | null };
  /** Real images thresholds were set on, none of which any model of the probe trained on (null: cross-fitted on the training set). */
  calibrationSet: { dirs: string[]; real: number; sha256: string; method: 'split-conformal' } | null;
  /** Problems with the training data (too few images of a class, ...). */
  warnings: string[];
  /** Signals trained, in SIGNAL_IDS order. */
  signals: SignalId[];
  spectral: FeatureModel | null;
  residual: FeatureModel | null;
  /** The training distribution, for out-of-distribution checks (null: no check, older probes). */
  distribution: DistributionModel | null;
  clipProbe: ClipProbe | null;
  maeRecon: MaeReconModel | null;
  fusion: FusionModel;
  /**
   * Out-of-fold metrics on the training set per trained signal (threshold 0.5) and for the fused
   * score of all trained signals (at its likely-synthetic threshold).
   */
  validation: Partial<Record<SignalId | 'fused', MetricValues>>;
}

export const DEFAULT_PROBE_PATH = join(PACKAGE_ROOT, 'fixtures', 'screen', 'default-probe.json');

/** Paths inside the vigil package are stored relative to it, so the shipped probe works from any clone. */
export function portablePath(path: string): string {
  const rel = relative(PACKAGE_ROOT, resolve(path));
  return rel.startsWith('..') || isAbsolute(rel) ? resolve(path) : rel;
}

export function resolvePortablePath(path: string): string {
  return isAbsolute(path) ? path : join(PACKAGE_ROOT, path);
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const logisticSchema = z.object({
  mean: z.array(finite),
  scale: z.array(finite),
  weights: z.array(finite),
  bias: finite,
  c: finite,
});
const plattSchema = z.object({ a: finite, b: finite });
const metricsSchema = z.record(z.string(), z.number());
const featureModelSchema = z.object({ featureNames: z.array(z.string()), model: logisticSchema, calibration: plattSchema });
const probeSchema = z.object({
  format: z.literal('vigil-screen-probe'),
  formatVersion: z.literal(1),
  createdAt: z.string(),
  vigilVersion: z.string(),
  seed: z.number().int(),
  folds: z.number().int().min(2),
  trainingSet: z.object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    real: z.number().int(),
    fake: z.number().int(),
    realDirs: z.array(z.string()),
    fakeDirs: z.array(z.string()),
    skipped: z.array(z.object({ file: z.string(), error: z.string() })),
  }),
  signals: z.array(z.enum(SIGNAL_IDS)).min(1),
  grouping: z
    .object({ method: z.enum(['stratified', 'groups-csv', 'pair-by-stem']), groups: z.number().int(), source: z.string().nullable() })
    .default({ method: 'stratified', groups: 0, source: null }),
  calibrationSet: z
    .object({ dirs: z.array(z.string()), real: z.number().int().positive(), sha256: z.string(), method: z.literal('split-conformal') })
    .nullable()
    .default(null),
  warnings: z.array(z.string()).default([]),
  spectral: featureModelSchema.nullable(),
  residual: featureModelSchema.nullable().default(null),
  distribution: z
    .object({
      signals: z.array(z.enum(['spectral', 'residual'])).min(1),
      mean: z.array(finite),
      scale: z.array(finite.refine((v) => v > 0, 'must be positive')),
      threshold: finite,
      quantile: finite,
      reference: z.enum(['calibration', 'training']),
      minSide: z.number().int().positive(),
      maxSide: z.number().int().positive(),
      sideSlack: finite,
    })
    .nullable()
    .default(null),
  clipProbe: z
    .object({
      clipModelSha256: z.string(),
      clipModelDir: z.string(),
      embeddingSize: z.number().int().positive(),
      model: logisticSchema,
      calibration: plattSchema,
      cGrid: z.array(z.object({ c: finite, logLoss: z.number() })),
      validation: metricsSchema,
    })
    .nullable(),
  maeRecon: z
    .object({
      maeModelSha256: z.string(),
      maeModelDir: z.string(),
      masks: z.number().int().positive(),
      seed: z.number().int(),
      realLogErrorMean: finite,
      realLogErrorStd: finite.refine((v) => v > 0, 'must be positive'),
      calibration: plattSchema,
    })
    .nullable(),
  fusion: z.object({
    targetFpr: finite,
    uncertainFpr: finite,
    subsets: z.array(
      z.object({
        signals: z.array(z.enum(SIGNAL_IDS)).min(1),
        model: logisticSchema,
        thresholds: z.object({ likelySynthetic: finite, uncertain: finite }),
      }),
    ),
  }),
  validation: z.record(z.string(), metricsSchema),
});

/** Loads and validates a probe file; any problem is an input error naming the file and the field. */
export async function loadProbe(path: string): Promise<ScreenProbe> {
  const text = (await readInputFile(path, { what: 'probe', maxBytes: MAX_CONFIG_BYTES })).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new VigilInputError(`probe ${path}: not valid JSON (${errorMessage(error)})`, { subject: path, cause: error });
  }
  const parsed = probeSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VigilInputError(`probe ${path}: field ${issue.path.join('.') || '(root)'}: ${issue.message}`, { subject: path });
  }
  const probe = parsed.data as ScreenProbe;
  for (const id of probe.signals) {
    const missing =
      (id === 'spectral' && probe.spectral === null) ||
      (id === 'residual' && probe.residual === null) ||
      (id === 'clip-probe' && probe.clipProbe === null) ||
      (id === 'mae-recon' && probe.maeRecon === null);
    if (missing) throw new VigilInputError(`probe ${path}: field signals lists ${id} but its trained part is null`, { subject: path });
  }
  // A probe trained on another version of a feature extractor would score garbage: say so.
  for (const signal of FEATURE_SIGNALS) {
    const model = probe[signal.id];
    if (model && (model.featureNames.length !== signal.featureNames.length || model.featureNames.some((name, i) => name !== signal.featureNames[i]))) {
      throw new VigilInputError(
        `probe ${path}: field ${signal.id}.featureNames has ${model.featureNames.length} features, this vigil's ${signal.id} signal computes ${signal.featureNames.length} (${signal.featureNames.slice(0, 3).join(', ')}, ...): retrain the probe with vigil screen train`,
        { subject: path },
      );
    }
  }
  if (probe.distribution) {
    const width = probe.distribution.signals.reduce((n, id) => n + FEATURE_SIGNALS.find((s) => s.id === id)!.featureNames.length, 0);
    if (probe.distribution.mean.length !== width || probe.distribution.scale.length !== width) {
      throw new VigilInputError(`probe ${path}: field distribution.mean has ${probe.distribution.mean.length} values for ${width} features of ${probe.distribution.signals.join('+')}`, { subject: path });
    }
  }
  if (probe.clipProbe && probe.clipProbe.model.weights.length !== probe.clipProbe.embeddingSize) {
    throw new VigilInputError(`probe ${path}: field clipProbe.model.weights has ${probe.clipProbe.model.weights.length} weights for embeddingSize ${probe.clipProbe.embeddingSize}`, { subject: path });
  }
  return probe;
}

export async function saveProbe(path: string, probe: ScreenProbe): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(probe, null, 1)}\n`);
}
