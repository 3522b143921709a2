/**
 * `predictions`: any of the metrics on a user-supplied predictions CSV (bring your own model, e.g.
 * the outputs of a cloud API). One row per observation with the sensitive columns, and any of a
 * ground-truth column, a predicted-label column and a score column (ranked for MaxSkew/NDKL).
 */
import { basename } from 'node:path';
import { z } from 'zod';
import { VigilInputError } from '../../core/errors.js';
import { readColumns, readHeader, type CategoryColumn, type ColumnKind, type NumberColumn, type TextColumn } from '../../probes/columns.js';
import type { ObservationTable } from '../metrics/disaggregate.js';
import { featureFromCodes, intersectFeatures, sortedLevels, type Feature } from '../metrics/features.js';
import type { AuditResult } from '../result.js';
import { analyzeTable, auditResult, defaultPositive, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import { auditId, cutoffs, defineAuditKind, nonEmpty } from './kind.js';

export const meta: AuditMeta = {
  kind: 'predictions',
  title: 'Predictions audit (bring your own model)',
  description:
    'Disaggregated selection rates, accuracy, TPR/FPR and ranking skew of predictions made elsewhere, per sensitive group and intersection, with stratified bootstrap intervals.',
};

export interface PredictionColumns {
  /** Ground-truth label column. */
  label?: string;
  /** Predicted label column. */
  prediction?: string;
  /** Numeric score column (ranked, descending, for skew metrics; its mean is `mean_score`). */
  score?: string;
}

export type RowProblem = { line: number | null; column: string | null; value: string | null; message: string };

/** The rows that entered the metrics, as columns (no per-row objects, so millions of rows fit). */
export interface PredictionsInput {
  path: string;
  sha256: string;
  n: number;
  /** Sensitive columns: codes into levels. */
  sensitive: { name: string; codes: Int32Array; levels: string[] }[];
  label?: { codes: Int32Array; levels: string[] };
  prediction?: { codes: Int32Array; levels: string[] };
  score?: { name: string; values: Float64Array };
  /** File names (the `file`, `file_name` or `id` column) while the file is small enough to list rows. */
  files: string[] | null;
  lines: Int32Array;
  nRowsRead: number;
  problems: RowProblem[];
}

/** Problems listed in results.json; beyond this only their count is kept (the exclusions say how many). */
const PROBLEM_LIST_LIMIT = 10_000;
/** observations.csv lists prediction rows up to this many (the input file is the table beyond). */
const OBSERVATION_ROWS_LIMIT = 200_000;

/**
 * Streams the predictions file (CSV or JSONL) into columns, listing every bad row (an empty
 * sensitive, label or prediction value, a score that is not a finite number); bad rows are left out.
 */
export async function readPredictions(
  path: string,
  sensitive: readonly string[],
  columns: PredictionColumns,
  onBytes?: (bytesRead: number, totalBytes: number) => void,
): Promise<PredictionsInput> {
  const wanted: Record<string, ColumnKind> = {};
  for (const c of sensitive) wanted[c] = 'category';
  if (columns.label !== undefined) wanted[columns.label] = 'category';
  if (columns.prediction !== undefined) wanted[columns.prediction] = 'category';
  if (columns.score !== undefined) wanted[columns.score] = 'number';
  // The file-name column is found from the header, so it is read in a first pass over the header only.
  const table = await readColumns(path, { columns: { ...wanted, ...(await fileColumnOf(path, wanted)) }, textLimit: OBSERVATION_ROWS_LIMIT, what: 'Predictions file', ...(onBytes ? { onBytes } : {}) });
  const n = table.n;
  const keep = new Uint8Array(n).fill(1);
  const problems: RowProblem[] = [];
  let more = 0;
  const problem = (row: number, column: string, value: string, message: string) => {
    keep[row] = 0;
    if (problems.length < PROBLEM_LIST_LIMIT) problems.push({ line: table.lines[row], column, value, message });
    else more++;
  };
  const categorical = [...sensitive, columns.label, columns.prediction].filter((c): c is string => c !== undefined);
  // The code of the empty value in each categorical column (-1: none), so rows are checked by code.
  const emptyCodes = categorical.map((name) => ({ name, column: table.columns[name] as CategoryColumn })).map((c) => ({ ...c, empty: c.column.levels.indexOf('') }));
  const scores = columns.score === undefined ? null : (table.columns[columns.score] as NumberColumn).values;
  // The score's text by row, for the messages of the rows it failed on.
  const scoreText = new Map(table.badNumbers.map((b) => [b.row, b.value]));
  for (let row = 0; row < n; row++) {
    for (const { name, column, empty } of emptyCodes) if (column.codes[row] === empty) problem(row, name, '', `empty value in column "${name}"`);
    if (scores !== null && Number.isNaN(scores[row])) problem(row, columns.score as string, scoreText.get(row) ?? '', 'expected a finite number');
  }
  if (more > 0) problems.push({ line: null, column: null, value: null, message: `${more} more problem row(s) not listed` });
  const kept = keep.reduce((sum, k) => sum + k, 0);
  /** The kept rows of a column (the same array when none was dropped). */
  const compact = <T extends Int32Array | Float64Array>(column: T): T => {
    if (kept === n) return column;
    const out = new (column.constructor as new (length: number) => T)(kept);
    let j = 0;
    for (let row = 0; row < n; row++) if (keep[row] === 1) out[j++] = column[row];
    return out;
  };
  const category = (name: string) => {
    const column = table.columns[name] as CategoryColumn;
    return { codes: compact(column.codes), levels: column.levels };
  };
  const fileColumn = Object.keys(table.columns).find((c) => table.columns[c].kind === 'text');
  const fileValues = fileColumn ? (table.columns[fileColumn] as TextColumn).values : null;
  const lines = compact(table.lines);
  return {
    path,
    sha256: table.sha256,
    n: kept,
    sensitive: sensitive.map((name) => ({ name, ...category(name) })),
    ...(columns.label !== undefined ? { label: category(columns.label) } : {}),
    ...(columns.prediction !== undefined ? { prediction: category(columns.prediction) } : {}),
    ...(columns.score !== undefined ? { score: { name: columns.score, values: compact((table.columns[columns.score] as NumberColumn).values) } } : {}),
    files: kept <= OBSERVATION_ROWS_LIMIT ? (fileValues ? fileValues.filter((_, row) => keep[row] === 1) : Array.from(lines, (line) => `line ${line}`)) : null,
    lines,
    nRowsRead: n,
    problems,
  };
}

/** `{file|file_name|id: 'text'}` when the header has such a column (and it is not a role column). */
async function fileColumnOf(path: string, wanted: Record<string, ColumnKind>): Promise<Record<string, ColumnKind>> {
  const header = await readHeader(path);
  const name = ['file', 'file_name', 'id'].find((c) => header.includes(c) && !(c in wanted));
  return name ? { [name]: 'text' } : {};
}

export interface PredictionsParameters extends PredictionColumns {
  id: string;
  file: string;
  k?: number[];
  positive_labels?: string[];
  multiclass?: boolean;
}

/**
 * The label vocabulary of ground truth and predictions. Numeric strings are read as numbers, so
 * pandas' `0.0/1.0` are the labels 0 and 1. Returns the class of every level of each column.
 */
export function labelClasses(columns: { levels: string[] }[]): { classes: string[]; classOf: Int32Array[] } {
  const all = columns.flatMap((c) => c.levels);
  const numeric = all.length > 0 && all.every((l) => l !== '' && Number.isFinite(Number(l)));
  const canonical = (level: string): string => (numeric ? String(Number(level)) : level);
  const classes = sortedLevels(all.filter((l) => l !== '').map(canonical));
  const index = new Map(classes.map((c, i) => [c, i]));
  return { classes, classOf: columns.map((c) => Int32Array.from(c.levels, (l) => index.get(canonical(l)) ?? -1)) };
}

/**
 * Which labels count as positive: the given ones; none (per-label rates) for a multiclass audit;
 * otherwise the labels must be exactly two (or one), with an unambiguous positive (1, true, yes,
 * positive). Anything else is an error naming the values, never a silent switch to multiclass.
 */
export function choosePositive(classes: readonly string[], parameters: Pick<PredictionsParameters, 'id' | 'positive_labels' | 'multiclass'>): string[] | undefined {
  if (parameters.positive_labels) {
    const canonical = parameters.positive_labels.map((l) => (Number.isFinite(Number(l)) && classes.every((c) => Number.isFinite(Number(c))) ? String(Number(l)) : l));
    const unknown = canonical.filter((l) => !classes.includes(l));
    if (unknown.length > 0) {
      throw new VigilInputError(`${parameters.id}: positive label(s) ${unknown.join(', ')} are not among the labels ${classes.join(', ')}; expected e.g. --pos-label ${classes[classes.length - 1]}`);
    }
    return canonical;
  }
  if (parameters.multiclass) return undefined;
  if (classes.length > 2) {
    throw new VigilInputError(
      `${parameters.id}: the labels take ${classes.length} values (${classes.slice(0, 20).join(', ')}${classes.length > 20 ? ', ...' : ''}) but a binary audit needs exactly two; expected --pos-label (positive_labels) naming the positive one(s), e.g. --pos-label ${classes[classes.length - 1]}, or --multiclass (multiclass: true) for per-label rates`,
    );
  }
  const positive = defaultPositive(classes);
  if (!positive) {
    throw new VigilInputError(`${parameters.id}: cannot tell which of the labels ${classes.join(', ')} is positive; expected --pos-label (positive_labels), e.g. --pos-label ${classes[classes.length - 1]}`);
  }
  return positive;
}

/** Pure: metrics of the rows read from a predictions file. */
export function auditPredictions(input: PredictionsInput, parameters: PredictionsParameters, settings: AuditSettings): AuditResult {
  const ks = parameters.score !== undefined ? (parameters.k ?? [10, 50, 100]) : [];
  const labelled = [input.label, input.prediction].filter((c): c is { codes: Int32Array; levels: string[] } => c !== undefined);
  const { classes, classOf } = labelClasses(labelled);
  const positive = parameters.prediction !== undefined ? choosePositive(classes, parameters) : undefined;
  const recode = (column: { codes: Int32Array }, map: Int32Array): Int32Array => {
    const out = new Int32Array(input.n);
    for (let i = 0; i < input.n; i++) out[i] = map[column.codes[i]];
    return out;
  };
  const sensitive = input.sensitive.map((c) => featureFromCodes(c.name, c.codes, c.levels));
  const byName = new Map(sensitive.map((f) => [f.name, f]));
  const features = [...sensitive, ...settings.intersections.map((combo) => intersectFeatures(combo.map((name) => byName.get(name) as Feature)))];
  let slot = 0;
  const table: ObservationTable = {
    n: input.n,
    features,
    classes,
    ...(input.label ? { truth: recode(input.label, classOf[slot++]) } : {}),
    ...(input.prediction ? { prediction: recode(input.prediction, classOf[slot++]) } : {}),
    ...(positive ? { positive: positive.map((l) => classes.indexOf(l)) } : {}),
    values: input.score ? [{ name: 'score', data: input.score.values }] : [],
    rankings: input.score ? [{ name: input.score.name, scores: input.score.values }] : [],
  };
  if (table.n === 0) throw new VigilInputError(`${input.path}: no rows to audit (every row had a problem; see the listed problems)`);
  return auditResult(meta, { ...parameters, k: ks }, {
    disclosure: positive ? { positive_labels: positive } : {},
    observations: { length: input.n },
    features: analyzeTable(table, settings, { ks, label: parameters.id }),
    failures: [],
    inference: null,
  });
}

/** The rows as observations for observations.csv (small files only; see OBSERVATION_ROWS_LIMIT). */
function predictionObservations(input: PredictionsInput): Observation[] {
  if (input.files === null) return [];
  const files = input.files;
  return Array.from({ length: input.n }, (_, i): Observation => ({
    file: files[i],
    sha256: null,
    attributes: Object.fromEntries(input.sensitive.map((c) => [c.name, c.levels[c.codes[i]]])),
    ...(input.label ? { truth: input.label.levels[input.label.codes[i]] } : {}),
    ...(input.prediction ? { prediction: input.prediction.levels[input.prediction.codes[i]] } : {}),
    values: input.score ? { score: input.score.values[i] } : ({} as Record<string, number>),
    scores: input.score ? { [input.score.name]: input.score.values[i] } : {},
  }));
}

const entrySchema = z.strictObject({
  kind: z.literal('predictions'),
  id: auditId,
  file: nonEmpty.describe('Predictions CSV (or .jsonl), relative to the spec: one row per observation with the sensitive columns and the columns below. Example: data/predictions.csv.'),
  label: nonEmpty.optional().describe('Ground-truth label column. Example: label.'),
  prediction: nonEmpty.optional().describe('Predicted label column (a prediction column, a score column, or both are needed). Example: prediction.'),
  score: nonEmpty.optional().describe('Numeric score column, ranked descending for MaxSkew/MinSkew/NDKL; its mean is mean_score. Example: score.'),
  k: cutoffs.optional().describe('Cutoffs of the skew metrics (with score; default [10, 50, 100]); each at most the number of rows. Example: [10, 100].'),
  positive_labels: z.array(nonEmpty).optional().describe('Positive label(s) for selection rate, TPR and FPR; needed unless the labels are exactly two with an obvious positive (1, true, yes, positive). Example: ["1"].'),
  multiclass: z.boolean().default(false).describe('Per-label rates (one-vs-rest) when the labels take more than two values; without it, or positive_labels, a third value is an error. Example: true.'),
});

type PredictionsEntry = z.infer<typeof entrySchema>;

function columnsOf(entry: PredictionsEntry): PredictionColumns {
  return { label: entry.label, prediction: entry.prediction, score: entry.score };
}

export const predictionsKind = defineAuditKind({
  ...meta,
  requires: { models: [], probeSet: false, groundTruth: false },
  parameters: entrySchema,
  check: (entry) => (entry.prediction || entry.score ? [] : [{ field: 'prediction', message: 'expected a prediction column, a score column, or both (e.g. prediction: pred)' }]),
  async observe(entry, ctx) {
    const path = ctx.path(entry.file);
    const progress = ctx.progress(`Reading ${basename(path)} (MB)`, 0);
    let shown = 0;
    try {
      const input = await readPredictions(path, ctx.sensitive, columnsOf(entry), (bytes, total) => {
        if (shown === 0) progress.setTotal(Math.ceil(total / 1e6));
        const mb = Math.floor(bytes / 1e6);
        progress.increment(mb - shown);
        shown = mb;
      });
      return { input, sensitive: ctx.sensitive };
    } finally {
      progress.stop();
    }
  },
  audit(observed, entry, settings) {
    const columns = columnsOf(entry);
    const parameters = {
      id: entry.id,
      file: entry.file,
      ...columns,
      ...(entry.k ? { k: entry.k } : {}),
      ...(entry.positive_labels ? { positive_labels: entry.positive_labels } : {}),
      ...(entry.multiclass ? { multiclass: true } : {}),
    };
    return { result: auditPredictions(observed.input, parameters, settings), observations: predictionObservations(observed.input) };
  },
  notes: (result) => [
    `${result.id}: ranking ties are broken by input order; skew uses the natural log and counts a group absent from the top k as 1/k.`,
    ...(result.n_observations > OBSERVATION_ROWS_LIMIT
      ? [`${result.id}: observations.csv lists no rows of this audit (${result.n_observations} rows, more than ${OBSERVATION_ROWS_LIMIT}); the predictions file, identified by its sha256 in results.json, is the observation table.`]
      : []),
  ],
  source(observed, entry) {
    const { input, sensitive } = observed;
    return {
      path: input.path,
      sha256: input.sha256,
      n_rows: input.n,
      n_excluded: input.nRowsRead - input.n,
      columns: { sensitive: [...sensitive], label: entry.label ?? null, prediction: entry.prediction ?? null, score: entry.score ?? null },
      problems: input.problems,
    };
  },
});
