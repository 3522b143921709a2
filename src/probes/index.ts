/**
 * Probe sets: images plus a labels table (sensitive attributes, optional ground truth). Readers
 * for generic CSV/JSONL, FairFace label CSVs, UTKFace file names and Hugging Face imagefolder
 * `metadata.csv`; validation that lists every problem; derived age bins; a manifest hash that
 * identifies the exact probe set in every result.
 */
import { resolve } from 'node:path';
import { VigilInputError } from '../core/errors.js';
import { sha256Hex } from '../core/files.js';
import { createProgress } from '../core/progress.js';
import { binLabels, binOf, validateEdges, type AgeBinning } from './derive.js';
import { describeColumns, readProbeSource, resolveSource, type ProbeFormat } from './formats.js';
import { checkRows, type CheckedRow, type ProbeProblem } from './validate.js';

export { FAIRFACE_AGE_EDGES, type AgeBinning } from './derive.js';
export { PROBE_FORMATS, type ProbeFormat } from './formats.js';
export type { CheckedRow, ProbeProblem } from './validate.js';

export interface LoadProbeSetOptions {
  /** Default `auto`: detected from the folder contents or the labels header. */
  format?: ProbeFormat | 'auto';
  /** Column of image paths (default `file`, or `file_name` for imagefolder). */
  fileColumn?: string;
  /** Ground-truth column; default `label` when the table has one. */
  labelColumn?: string;
  /** Columns the audit uses: they must exist, and empty values are problems. */
  required?: string[];
  /** Numeric columns to bin into derived attributes. */
  ageBins?: AgeBinning[];
  /** Decode every image header (default true). */
  checkImages?: boolean;
  quiet?: boolean;
}

export interface ProbeRow extends CheckedRow {
  /** Attribute values, derived attributes included. */
  attributes: Record<string, string>;
  /** Ground truth, when the probe set has a label column. */
  label?: string;
}

export interface ProbeSet {
  root: string;
  format: ProbeFormat;
  /** The labels file, or the folder for UTKFace. */
  source: string;
  /** Attribute columns, derived ones included (the file and label columns excluded). */
  attributes: string[];
  labelColumn: string | null;
  /** Rows that passed validation, in source order. */
  rows: ProbeRow[];
  /** Rows read, before validation. */
  nRowsRead: number;
  problems: ProbeProblem[];
  /** sha256 over the sorted "image sha256, file, fields" lines of the valid rows. */
  manifestSha256: string;
}

export async function loadProbeSet(path: string, options: LoadProbeSetOptions = {}): Promise<ProbeSet> {
  const { format, source } = await resolveSource(resolve(path), options.format ?? 'auto');
  const raw = await readProbeSource(format, source, options.fileColumn);
  const labelColumn = options.labelColumn ?? (raw.columns.includes('label') ? 'label' : null);
  const bins = options.ageBins ?? [];
  const derivedNames = new Set(bins.map((b) => b.name));
  const known = new Set(raw.columns);
  const missing = [...(options.required ?? []), ...(labelColumn ? [labelColumn] : []), ...bins.map((b) => b.from)].filter(
    (c) => !known.has(c) && !derivedNames.has(c),
  );
  if (missing.length > 0) {
    throw new VigilInputError(
      `Probe set ${source} has no column(s) ${[...new Set(missing)].join(', ')}; its columns are ${describeColumns(raw.columns)}`,
      { subject: source },
    );
  }
  for (const bin of bins) validateEdges(bin.edges, `age bins of ${bin.name}`);
  const required = [...new Set([...(options.required ?? []).filter((c) => !derivedNames.has(c)), ...bins.map((b) => b.from), ...(labelColumn ? [labelColumn] : [])])];
  const progress = createProgress('Checking probe set', { quiet: options.quiet, total: raw.rows.length });
  const checked = await checkRows(raw.root, raw.rows, required, { checkImages: options.checkImages ?? true, progress });
  progress.stop();
  const problems = [...raw.problems, ...checked.problems];

  const rows: ProbeRow[] = [];
  for (const row of checked.rows) {
    const attributes: Record<string, string> = {};
    for (const column of raw.columns) if (column !== labelColumn) attributes[column] = row.fields[column];
    let ok = true;
    for (const bin of bins) {
      const label = binOf(row.fields[bin.from], bin.edges, binLabels(bin.edges));
      if (label === null) {
        problems.push({ line: row.line, column: bin.from, value: row.fields[bin.from], message: `not a number ≥ ${bin.edges[0]}, cannot derive ${bin.name}` });
        ok = false;
      } else attributes[bin.name] = label;
    }
    if (!ok) continue;
    rows.push({ ...row, attributes, ...(labelColumn ? { label: row.fields[labelColumn] } : {}) });
  }
  if (rows.length === 0) {
    const first = problems.slice(0, 5).map(formatProblem).join('; ');
    throw new VigilInputError(`Probe set ${source} has no valid rows (${problems.length} problem(s): ${first})`, { subject: source });
  }
  return {
    root: raw.root,
    format,
    source,
    attributes: [...raw.columns.filter((c) => c !== labelColumn), ...bins.map((b) => b.name)],
    labelColumn,
    rows,
    nRowsRead: raw.rows.length,
    problems,
    manifestSha256: manifestHash(rows),
  };
}

/** Order-independent: the same images and labels give the same hash whatever the row order. */
export function manifestHash(rows: readonly CheckedRow[]): string {
  const lines = rows.map((row) => {
    const fields = Object.keys(row.fields)
      .sort()
      .map((key) => [key, row.fields[key]]);
    return `${row.sha256}\t${row.file}\t${JSON.stringify(fields)}`;
  });
  return sha256Hex(lines.sort().join('\n'));
}

/** "line 12, column gender, value "": empty value in column "gender"" */
export function formatProblem(problem: ProbeProblem): string {
  const where = [
    problem.line === null ? null : `line ${problem.line}`,
    problem.column === null ? null : `column ${problem.column}`,
    problem.value === null ? null : `value ${JSON.stringify(problem.value)}`,
  ].filter((x) => x !== null);
  return `${where.join(', ')}${where.length > 0 ? ': ' : ''}${problem.message}`;
}
