/**
 * `predictions`: any of the metrics on a user-supplied predictions CSV (bring your own model, e.g.
 * the outputs of a cloud API). One row per observation with the sensitive columns, and any of a
 * ground-truth column, a predicted-label column and a score column (ranked for MaxSkew/NDKL).
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { VigilInputError, errorMessage } from '../../core/errors.js';
import { sha256Hex } from '../../core/files.js';
import type { AuditResult } from '../result.js';
import { analyze, auditResult, defaultPositive, type AuditMeta, type AuditSettings, type Observation } from './common.js';
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

export interface PredictionsInput {
  path: string;
  sha256: string;
  observations: Observation[];
  nRowsRead: number;
  problems: { line: number | null; column: string | null; value: string | null; message: string }[];
}

/** Reads the CSV, listing every bad row (empty sensitive or label value, non-numeric score). */
export async function readPredictions(path: string, sensitive: readonly string[], columns: PredictionColumns): Promise<PredictionsInput> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new VigilInputError(`Predictions file ${path} cannot be read: ${errorMessage(error)}`, { subject: path });
  }
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(bytes, { columns: true, bom: true, skip_empty_lines: true, info: true, trim: true });
  } catch (error) {
    throw new VigilInputError(`Predictions file ${path} is not valid CSV: ${errorMessage(error)}`, { subject: path });
  }
  if (records.length === 0) throw new VigilInputError(`Predictions file ${path} has no rows`, { subject: path });
  const header = Object.keys(records[0].record);
  const wanted = [...sensitive, columns.label, columns.prediction, columns.score].filter((c): c is string => c !== undefined);
  const missing = wanted.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new VigilInputError(`Predictions file ${path} has no column(s) ${missing.join(', ')}; its columns are ${header.join(', ')}`, { subject: path });
  }
  const fileColumn = ['file', 'file_name', 'id'].find((c) => header.includes(c));
  const problems: PredictionsInput['problems'] = [];
  const observations: Observation[] = [];
  for (const { record, info } of records) {
    const line = info.lines;
    let ok = true;
    for (const column of [...sensitive, columns.label, columns.prediction].filter((c): c is string => c !== undefined)) {
      if ((record[column] ?? '') === '') {
        problems.push({ line, column, value: '', message: `empty value in column "${column}"` });
        ok = false;
      }
    }
    let score = Number.NaN;
    if (columns.score !== undefined) {
      const text = record[columns.score] ?? '';
      score = text === '' ? Number.NaN : Number(text);
      if (!Number.isFinite(score)) {
        problems.push({ line, column: columns.score, value: text, message: 'expected a finite number' });
        ok = false;
      }
    }
    if (!ok) continue;
    observations.push({
      file: fileColumn ? record[fileColumn] : `line ${line}`,
      sha256: null,
      attributes: Object.fromEntries(sensitive.map((c) => [c, record[c]])),
      ...(columns.label !== undefined ? { truth: record[columns.label] } : {}),
      ...(columns.prediction !== undefined ? { prediction: record[columns.prediction] } : {}),
      values: columns.score !== undefined ? { score } : {},
      scores: columns.score !== undefined ? { [columns.score]: score } : {},
    });
  }
  return { path, sha256: sha256Hex(bytes), observations, nRowsRead: records.length, problems };
}

export interface PredictionsParameters extends PredictionColumns {
  id: string;
  file: string;
  k?: number[];
  positive_labels?: string[];
}

/** Pure: metrics of the observations read from a predictions file. */
export function auditPredictions(input: PredictionsInput, parameters: PredictionsParameters, settings: AuditSettings): AuditResult {
  const ks = parameters.score !== undefined ? (parameters.k ?? [10, 50, 100]) : [];
  const classes = [
    ...new Set(input.observations.flatMap((o) => [...(o.truth !== undefined ? [o.truth] : []), ...(o.prediction !== undefined ? [o.prediction] : [])])),
  ];
  const positive = parameters.prediction !== undefined ? (parameters.positive_labels ?? defaultPositive(classes)) : undefined;
  const features = analyze(input.observations, settings, { positive, ks, label: parameters.id });
  return auditResult(meta, { ...parameters, k: ks }, {
    disclosure: positive ? { positive_labels: positive } : {},
    observations: input.observations,
    features,
    failures: [],
    inference: null,
  });
}

const entrySchema = z.strictObject({
  kind: z.literal('predictions'),
  id: auditId,
  file: nonEmpty.describe('Predictions CSV (or .jsonl), relative to the spec: one row per observation with the sensitive columns and the columns below. Example: data/predictions.csv.'),
  label: nonEmpty.optional().describe('Ground-truth label column. Example: label.'),
  prediction: nonEmpty.optional().describe('Predicted label column (a prediction column, a score column, or both are needed). Example: prediction.'),
  score: nonEmpty.optional().describe('Numeric score column, ranked descending for MaxSkew/MinSkew/NDKL; its mean is mean_score. Example: score.'),
  k: cutoffs.optional().describe('Cutoffs of the skew metrics (with score; default [10, 50, 100]); each at most the number of rows. Example: [10, 100].'),
  positive_labels: z.array(nonEmpty).optional().describe('Positive label(s) for selection rate, TPR and FPR; needed when the labels are not exactly two values. Example: ["1"].'),
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
    return { input: await readPredictions(ctx.path(entry.file), ctx.sensitive, columnsOf(entry)), sensitive: ctx.sensitive };
  },
  audit(observed, entry, settings) {
    const columns = columnsOf(entry);
    const parameters = { id: entry.id, file: entry.file, ...columns, ...(entry.k ? { k: entry.k } : {}), ...(entry.positive_labels ? { positive_labels: entry.positive_labels } : {}) };
    return { result: auditPredictions(observed.input, parameters, settings), observations: observed.input.observations };
  },
  source(observed, entry) {
    const { input, sensitive } = observed;
    return {
      path: input.path,
      sha256: input.sha256,
      n_rows: input.observations.length,
      n_excluded: input.nRowsRead - input.observations.length,
      columns: { sensitive: [...sensitive], label: entry.label ?? null, prediction: entry.prediction ?? null, score: entry.score ?? null },
      problems: input.problems,
    };
  },
});
