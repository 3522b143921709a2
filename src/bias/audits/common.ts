/**
 * What every audit kind shares: observations (one per image or prediction row) turned into the
 * columnar table of the metrics, and the run settings.
 */
import { VigilInputError } from '../../core/errors.js';
import { noProgress, type ProgressFactory } from '../context.js';
import { disaggregate, type ObservationTable } from '../metrics/disaggregate.js';
import { attributeFeature, factorize, intersectionFeature, sortedLevels } from '../metrics/features.js';
import type { AssociationResult, AuditKind, AuditResult, FeatureResult, PromptDisclosure } from '../result.js';
import type { FailedImage } from './inputs.js';

/** One audited image (or prediction row). */
export interface Observation {
  file: string;
  /** sha256 of the image (null for prediction rows). */
  sha256: string | null;
  attributes: Record<string, string>;
  truth?: string;
  prediction?: string;
  /** Numeric columns, reported per group as `mean_<name>`. */
  values: Record<string, number>;
  /** Retrieval scores per query (ranked for skew metrics). */
  scores: Record<string, number>;
}

export interface AuditSettings {
  seed: number;
  nBoot: number;
  ciLevel: number;
  minGroupSize: number;
  nPermutations: number;
  alpha: number;
  sensitive: string[];
  intersections: string[][];
  /** Equalized-odds aggregation of the TPR and FPR disparities (Fairlearn's agg); default worst_case. */
  equalizedOddsAgg?: 'worst_case' | 'mean';
  /** Progress display for long loops (the bootstrap); absent: none. Audits open no bars themselves. */
  progress?: ProgressFactory;
}

/** Lighthouse-style metadata of an audit kind. */
export interface AuditMeta {
  kind: AuditKind;
  title: string;
  description: string;
}

/** What one audit measured, beside its kind's metadata and its parameters. */
export interface AuditOutcome {
  disclosure: PromptDisclosure;
  /** Observations that entered the metrics (only their number is recorded). */
  observations: { readonly length: number };
  features: FeatureResult[];
  associations?: AssociationResult[];
  failures: FailedImage[];
  inference: AuditResult['inference'];
}

/** The result of one audit: its kind's metadata, its parameters as given and what it measured. */
export function auditResult<Params extends { id: string }>(meta: AuditMeta, parameters: Params, outcome: AuditOutcome): AuditResult {
  return {
    id: parameters.id,
    kind: meta.kind,
    title: meta.title,
    description: meta.description,
    parameters: { ...parameters },
    disclosure: outcome.disclosure,
    n_observations: outcome.observations.length,
    features: outcome.features,
    ...(outcome.associations ? { associations: outcome.associations } : {}),
    failures: outcome.failures,
    inference: outcome.inference,
  };
}

/**
 * The positive label of a binary label set when it is unambiguous (0/1, false/true, no/yes,
 * negative/positive); otherwise none, and rates are reported per label.
 */
export function defaultPositive(classes: readonly string[]): string[] | undefined {
  const pairs: [string, string][] = [
    ['0', '1'],
    ['-1', '1'],
    ['false', 'true'],
    ['no', 'yes'],
    ['negative', 'positive'],
  ];
  for (const [negative, positive] of pairs) {
    const match = classes.every((c) => c.toLowerCase() === negative || c.toLowerCase() === positive);
    const present = classes.find((c) => c.toLowerCase() === positive);
    if (match && present !== undefined) return [present];
  }
  return undefined;
}

export interface AnalyzeOptions {
  /** Label vocabulary (default: the labels that occur). */
  classes?: string[];
  positive?: string[];
  ks?: number[];
  /** Progress label of the bootstrap. */
  label: string;
}

/** Disaggregates observations by every sensitive attribute and intersection. */
export function analyze(observations: readonly Observation[], settings: AuditSettings, options: AnalyzeOptions): FeatureResult[] {
  if (observations.length === 0) throw new VigilInputError('No observations to audit (every image or row failed; see the listed problems)');
  const column = (name: string) => observations.map((o) => o.attributes[name]);
  const features = [
    ...settings.sensitive.map((name) => attributeFeature(name, column(name))),
    ...settings.intersections.map((combo) => intersectionFeature(combo, combo.map(column))),
  ];
  const first = observations[0];
  const hasTruth = first.truth !== undefined;
  const hasPrediction = first.prediction !== undefined;
  const classes =
    options.classes ??
    sortedLevels(observations.flatMap((o) => [...(hasTruth ? [o.truth as string] : []), ...(hasPrediction ? [o.prediction as string] : [])]));
  const codes = (values: string[], what: string): Int32Array => {
    const unknown = values.find((v) => !classes.includes(v));
    if (unknown !== undefined) throw new VigilInputError(`${what} "${unknown}" is not among the labels ${classes.join(', ')}`);
    return factorize(values, classes).codes;
  };
  const positive = options.positive?.map((label) => {
    const index = classes.indexOf(label);
    if (index < 0) throw new VigilInputError(`Positive label "${label}" is not among the labels ${classes.join(', ')}`);
    return index;
  });
  const valueNames = Object.keys(first.values);
  const rankingNames = Object.keys(first.scores);
  const table: ObservationTable = {
    n: observations.length,
    features,
    classes,
    ...(hasTruth ? { truth: codes(observations.map((o) => o.truth as string), 'Ground-truth label') } : {}),
    ...(hasPrediction ? { prediction: codes(observations.map((o) => o.prediction as string), 'Predicted label') } : {}),
    ...(positive ? { positive } : {}),
    values: valueNames.map((name) => ({ name, data: Float64Array.from(observations, (o) => o.values[name]) })),
    rankings: rankingNames.map((name) => ({ name, scores: Float64Array.from(observations, (o) => o.scores[name]) })),
  };
  return analyzeTable(table, settings, options);
}

/** Disaggregates a columnar table (large inputs build it directly, with no per-row objects). */
export function analyzeTable(table: ObservationTable, settings: AuditSettings, options: Pick<AnalyzeOptions, 'ks' | 'label'>): FeatureResult[] {
  const ks = options.ks ?? [];
  const tooLarge = ks.filter((k) => k > table.n);
  if (tooLarge.length > 0) {
    throw new VigilInputError(`${options.label}: k = ${tooLarge.join(', ')} exceeds the ${table.n} observations; expected every k ≤ ${table.n} (e.g. k: [${Math.min(10, table.n)}])`);
  }
  const progress = (settings.progress ?? noProgress)(`${options.label}: bootstrap`, settings.nBoot);
  try {
    return disaggregate(table, {
      seed: settings.seed,
      nBoot: settings.nBoot,
      minGroupSize: settings.minGroupSize,
      ciLevel: settings.ciLevel,
      nPermutations: settings.nPermutations,
      alpha: settings.alpha,
      equalizedOddsAgg: settings.equalizedOddsAgg ?? 'worst_case',
      ks,
      onReplicate: () => progress.increment(),
    }).features;
  } finally {
    progress.stop();
  }
}
