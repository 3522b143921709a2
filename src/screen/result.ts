/**
 * The documents the screener writes (results.json of `vigil screen` and `vigil screen eval`) and the
 * per-file record `POST /v1/screen` returns. Field names are stable; additions keep schemaVersion 1.
 * Reports render from these alone.
 */
import type { ResultEnvelope } from '../core/results.js';
import type { CurvePoints } from './curves.js';
import type { DistributionCheck } from './distribution.js';
import type { FamilyEvaluation } from './families.js';
import type { FusionThresholds, Verdict } from './fusion.js';
import type { MetricEstimate, MetricKey, MetricValues } from './metrics.js';
import type { MetadataCueKind, MetadataFacts } from './signals/metadata.js';
import type { SignalId } from './signals/types.js';

export type { Verdict } from './fusion.js';
export type { MetricKey, MetricEstimate, MetricValues } from './metrics.js';
export type { SignalId } from './signals/types.js';

/** Per-signal outputs for one image. `score` is always P(synthetic) from that signal alone, calibrated. */
export interface SpectralOutput {
  score: number;
  /** Log-odds of the spectral logistic model. */
  raw: number;
  /** Side of the square analysis tiles and how many were averaged. */
  tile: number;
  tiles: number;
  /** Spectrum image (log power, DC centred), relative to the results folder; null when no --out. */
  evidence: string | null;
}

export interface ResidualOutput {
  score: number;
  /** Log-odds of the residual logistic model. */
  raw: number;
  /** Fixed, model-free statistic: largest log contrast between the phases of a 2/4-pixel grid (near 0 = no grid). */
  statistic: number;
}

export interface ClipProbeOutput {
  score: number;
  /** Log-odds of the CLIP probe. */
  raw: number;
}

export interface MaeReconOutput {
  score: number;
  /** z-score of log reconstruction error against the real training images (negative = reconstructed better than real photos). */
  raw: number;
  /** Mean MAE reconstruction error over masked patches, averaged over `masks` seeded masks. */
  reconstructionError: number;
  masks: number;
  /** Per-patch error heatmap PNG, relative to the results folder; null when no --out. */
  evidence: string | null;
}

export interface MetadataOutput {
  score: number;
  /** Log-odds of the cue's fixed strength. */
  raw: number;
  cue: MetadataCueKind;
  /** True when C2PA/IPTC metadata declares AI generation: forces likely-synthetic. */
  declared: boolean;
  /** True when C2PA says AI made an ingredient or an edit, or a vendor assertion records AI use: the verdict is at least uncertain. */
  aiInvolved: boolean;
  /** Human-readable findings (untrusted strings from the file: escape when rendering). */
  findings: string[];
  facts: MetadataFacts;
}

export interface SignalOutputs {
  spectral?: SpectralOutput;
  residual?: ResidualOutput;
  'clip-probe'?: ClipProbeOutput;
  'mae-recon'?: MaeReconOutput;
  metadata?: MetadataOutput;
}

/** Video-only summary: frames sampled with ffmpeg, scored like images, aggregated. */
export interface VideoSummary {
  /** Frames sampled per second of video. */
  sampleFps: number;
  framesSampled: number;
  framesScored: number;
  /** Aggregates of frame P(synthetic); the video's score is `topKMean`. */
  aggregates: { max: number; mean: number; topKMean: number; k: number };
  /** Per second of video: the highest frame score in that second and its verdict. */
  timeline: { second: number; frames: number; maxScore: number; meanScore: number; verdict: Verdict }[];
  /** Every sampled frame: its time, score and verdict (or error). */
  frames: { time: number; score: number | null; verdict: Verdict | null; error: string | null }[];
}

/** One screened file (image or video). `POST /v1/screen` returns exactly this for one upload. */
export interface ScreenFileResult {
  /** Path as given (or the upload's name). Untrusted string. */
  file: string;
  /** sha256 of the file bytes; null when they could not be read. */
  sha256: string | null;
  media: 'image' | 'video';
  status: 'ok' | 'error';
  /** Why the file could not be screened (status error). */
  error: string | null;
  /** Detected container format (jpeg, png, webp, mp4, ...). */
  format: string | null;
  width: number | null;
  height: number | null;
  /** Fused P(synthetic) under the training set's class prior; null on error. */
  score: number | null;
  verdict: Verdict | null;
  /** Short explanations of the verdict, most decisive first. */
  reasons: string[];
  /** Signals that produced a score for this file, and those that did not with why. */
  signalsRun: SignalId[];
  signalsMissing: { signal: SignalId; reason: string }[];
  /** Thresholds of the fusion model used (it depends on which signals ran). */
  thresholds: FusionThresholds | null;
  /**
   * Whether the input lies inside what the probe was trained on. Outside it the learned signals
   * cannot produce likely-synthetic: the verdict is uncertain with reason out-of-distribution
   * (declared provenance still counts). Null when not checked (probe without a distribution model,
   * or the pixel signals did not run).
   */
  distribution: DistributionCheck | null;
  signals: SignalOutputs;
  video?: VideoSummary;
}

/**
 * The probe the screener used: the bundled default (trained on the project's fixtures, a
 * demonstration) or one the user trained. Shown on the CLI, in results.json and as a report banner.
 */
export interface ProbeOrigin {
  kind: 'bundled-default' | 'user-trained';
  /** What to tell the reader (for the default: train your own before acting on verdicts). */
  note: string;
}

/** Where the probe that scored a run came from. */
export interface ProbeSummary {
  path: string;
  origin: ProbeOrigin;
  createdAt: string;
  trainingSetSha256: string;
  signals: SignalId[];
  clipModelSha256: string | null;
  maeModelSha256: string | null;
  targetFpr: number;
  uncertainFpr: number;
  /** Thresholds set on held-out real photographs (split-conformal) or cross-fitted on the training set. */
  thresholdsFrom: 'calibration-set' | 'training-folds';
  /** Whether inputs are checked against the training distribution. */
  distributionCheck: boolean;
}

/** results.json of `vigil screen`. */
export interface ScreenRunResults extends ResultEnvelope {
  schema: 'vigil/screen';
  probe: ProbeSummary;
  /** Signals requested for the run (a file may have run fewer: see its signalsMissing). */
  signalsRequested: SignalId[];
  /** Files sorted by score, highest first; errors last. */
  files: ScreenFileResult[];
  summary: {
    files: number;
    errors: number;
    verdicts: Record<Verdict, number>;
  };
  /** Triage CSV beside results.json, when written. */
  csv: string | null;
}

/** Metrics of one scorer (a signal or the fusion) on one group, with bootstrap CIs. */
export interface ScorerMetrics {
  /** Items this scorer produced a score for (real, fake). */
  real: number;
  fake: number;
  /** Operating point for accuracy / tpr_at_threshold / fpr_at_threshold (0.5 for signals; the probe's likely-synthetic threshold for fused). */
  threshold: number;
  metrics: Record<MetricKey, MetricEstimate>;
  /** ROC and precision-recall points (unperturbed files, generator "all" only), for the report's curves. */
  curves?: CurvePoints;
}

/** One comparison: all real images against the fakes of one generator (or of all generators). */
export interface EvalGroup {
  /** Generator name, or "all". */
  generator: string;
  real: number;
  fake: number;
  /** Keyed by signal id and "fused". A scorer absent here had too few scores in one class. */
  scorers: Partial<Record<SignalId | 'fused', ScorerMetrics>>;
}

export interface EvalCondition {
  /** "none" for the original files, else the perturbation (jpeg-q90, jpeg-q75, jpeg-q50, resize-0.5, crop-0.9, blur-1). */
  perturbation: string;
  description: string;
  groups: EvalGroup[];
}

/**
 * The realised false-positive rate on the real images of an evaluation, counted by verdict (what a
 * reviewer acts on), with an exact binomial (Clopper-Pearson) interval.
 */
export interface RealisedFpr {
  /** "likely-synthetic", or "uncertain-or-worse". */
  level: 'likely-synthetic' | 'uncertain-or-worse';
  /** The FPR the probe's thresholds were set for. */
  target: number;
  real: number;
  falsePositives: number;
  rate: number;
  ci: [number, number];
}

/** results.json of `vigil screen eval`. */
export interface ScreenEvalResults extends ResultEnvelope {
  schema: 'vigil/screen-eval';
  probe: ProbeSummary;
  dataset: {
    realDirs: string[];
    generators: { name: string; dirs: string[]; files: number }[];
    realFiles: number;
  };
  bootstrap: { resamples: number; confidence: number; seed: number };
  signals: SignalId[];
  /** conditions[0] is the unperturbed data; the rest come with --robustness. */
  conditions: EvalCondition[];
  /**
   * With --leave-one-out or --baseline durall: probes trained here per family protocol on the
   * --train-real/--train-fake folders, tested on --real/--fake, beside the Durall baseline trained
   * on the same images.
   */
  families?: FamilyEvaluation;
  /** Realised FPR of the verdicts on the unperturbed real images. */
  realisedFpr: RealisedFpr[];
  /** Images the distribution check put outside the probe's training range (verdict uncertain), per class. */
  outOfDistribution: { real: number; fake: number };
  /** Files that could not be scored (per condition), with the reason. */
  errors: { perturbation: string; file: string; error: string }[];
}

/** Validation summary printed by `vigil screen train --json` (the probe file holds the model itself). */
export interface ScreenTrainSummary {
  probe: string;
  trainingSet: { sha256: string; real: number; fake: number; skipped: number };
  signals: SignalId[];
  /** Out-of-fold metrics per trained signal and for the fusion. */
  validation: Partial<Record<SignalId | 'fused', MetricValues>>;
  thresholds: FusionThresholds;
  thresholdsFrom: 'calibration-set' | 'training-folds';
  grouping: { method: 'stratified' | 'groups-csv' | 'pair-by-stem'; groups: number; source: string | null };
  /** Problems with the training data (fewer than 20 images of a class, ...). */
  warnings: string[];
}
