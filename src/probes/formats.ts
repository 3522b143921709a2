/**
 * Probe-set label formats. Each reader turns its source into raw rows (a file path relative to
 * the probe-set root, attribute values as strings, the source line for error messages); validation
 * and hashing are shared (see validate.ts).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { parse } from 'csv-parse/sync';
import { VigilInputError, describeValue, errorMessage, invalidArgument } from '../core/errors.js';
import { PROBE_IMAGE_EXTENSIONS } from '../core/extensions.js';
import { MAX_DOCUMENT_BYTES, readInputFile } from '../core/files.js';
import { walk } from '../core/walk.js';

export const PROBE_FORMATS = ['auto', 'csv', 'jsonl', 'fairface', 'utkface', 'imagefolder'] as const;
export type ProbeFormat = Exclude<(typeof PROBE_FORMATS)[number], 'auto'>;

/** A row as read, before validation. */
export interface RawProbeRow {
  /** 1-based line in the labels file; null for formats without one (UTKFace file names). */
  line: number | null;
  /** Path relative to the root, as written in the source. */
  file: string;
  /** Every other column (ground truth included), as strings. */
  fields: Record<string, string>;
}

export interface RawProbeSet {
  format: ProbeFormat;
  /** Folder that file paths are relative to. */
  root: string;
  /** The labels file, or the folder for UTKFace. */
  source: string;
  /** Column holding the file path in the source. */
  fileColumn: string;
  /** Attribute columns in source order (the file column excluded). */
  columns: string[];
  rows: RawProbeRow[];
  /** Problems found while reading (a malformed line, an unparsable UTKFace name). */
  problems: { line: number | null; column: string | null; value: string | null; message: string }[];
}

/** FairFace's label CSVs (fairface_label_train.csv / _val.csv). */
const FAIRFACE_COLUMNS = ['file', 'age', 'gender', 'race', 'service_test'];
/** UTKFace codes, from the dataset's documentation. */
const UTK_GENDER = ['male', 'female'];
const UTK_RACE = ['White', 'Black', 'Asian', 'Indian', 'Others'];
const UTK_NAME = /^(\d{1,3})_([01])_([0-4])_(\d+)/;

/** Picks the format from the path: a folder's metadata/labels file, or a labels file's header. */
export async function detectFormat(path: string): Promise<{ format: ProbeFormat; source: string }> {
  const info = await stat(path).catch((error: unknown) => {
    throw new VigilInputError(`Probe set ${path} cannot be read: ${errorMessage(error)}`, { subject: path });
  });
  if (info.isDirectory()) {
    const entries = new Set(await readdir(path));
    if (entries.has('metadata.csv')) return { format: 'imagefolder', source: join(path, 'metadata.csv') };
    if (entries.has('labels.csv')) return detectFormat(join(path, 'labels.csv'));
    if (entries.has('labels.jsonl')) return { format: 'jsonl', source: join(path, 'labels.jsonl') };
    return { format: 'utkface', source: path };
  }
  if (path.endsWith('.jsonl')) return { format: 'jsonl', source: path };
  const header = (await readText(path)).split(/\r?\n/, 1)[0].replace(/^\uFEFF/, '');
  const columns = header.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  if (columns.includes('file_name')) return { format: 'imagefolder', source: path };
  if (FAIRFACE_COLUMNS.slice(0, 4).every((c) => columns.includes(c))) return { format: 'fairface', source: path };
  return { format: 'csv', source: path };
}

/** Resolves `path` + optional explicit format into the labels source and format. */
export async function resolveSource(path: string, format: ProbeFormat | 'auto'): Promise<{ format: ProbeFormat; source: string }> {
  if (!(PROBE_FORMATS as readonly string[]).includes(format)) {
    throw invalidArgument('probe set format', `one of ${PROBE_FORMATS.join(', ')}`, format);
  }
  const detected = await detectFormat(path);
  if (format === 'auto' || format === detected.format) return detected;
  const isDir = (await stat(path)).isDirectory();
  if (format === 'utkface') {
    if (!isDir) throw new VigilInputError(`Probe set format utkface needs a folder of images but ${path} is a file`, { subject: path });
    return { format, source: path };
  }
  if (isDir) {
    const name = format === 'imagefolder' ? 'metadata.csv' : format === 'jsonl' ? 'labels.jsonl' : 'labels.csv';
    return { format, source: join(path, name) };
  }
  return { format, source: path };
}

export async function readProbeSource(format: ProbeFormat, source: string, fileColumnOverride?: string): Promise<RawProbeSet> {
  switch (format) {
    case 'utkface':
      return readUtkFace(source);
    case 'jsonl':
      return readJsonl(source, fileColumnOverride ?? 'file');
    case 'imagefolder':
      return readCsv(source, format, fileColumnOverride ?? 'file_name');
    case 'fairface':
    case 'csv':
      return readCsv(source, format, fileColumnOverride ?? 'file');
  }
}

async function readText(source: string): Promise<string> {
  return (await readInputFile(source, { what: 'the probe-set labels', maxBytes: MAX_DOCUMENT_BYTES })).toString('utf8');
}

async function readCsv(source: string, format: ProbeFormat, fileColumn: string): Promise<RawProbeSet> {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(await readText(source), { columns: true, bom: true, skip_empty_lines: true, info: true, trim: true });
  } catch (error) {
    throw new VigilInputError(`Probe-set labels ${source} is not valid CSV: ${errorMessage(error)}`, { subject: source });
  }
  const header = records.length > 0 ? Object.keys(records[0].record) : [];
  if (records.length === 0) throw new VigilInputError(`Probe-set labels ${source} has no rows`, { subject: source });
  if (!header.includes(fileColumn)) {
    throw new VigilInputError(
      `Probe-set labels ${source} (${format}) needs a "${fileColumn}" column holding image paths but has columns ${describeColumns(header)}`,
      { subject: source },
    );
  }
  if (format === 'fairface') {
    const missing = FAIRFACE_COLUMNS.slice(0, 4).filter((c) => !header.includes(c));
    if (missing.length > 0) throw new VigilInputError(`FairFace labels ${source} lack column(s) ${missing.join(', ')}`, { subject: source });
  }
  const rows = records.map(({ record, info }) => {
    const fields: Record<string, string> = {};
    for (const column of header) if (column !== fileColumn) fields[column] = record[column] ?? '';
    return { line: info.lines, file: record[fileColumn] ?? '', fields };
  });
  return { format, root: dirname(source), source, fileColumn, columns: header.filter((c) => c !== fileColumn), rows, problems: [] };
}

async function readJsonl(source: string, fileColumn: string): Promise<RawProbeSet> {
  const lines = (await readText(source)).split(/\r?\n/);
  const rows: RawProbeRow[] = [];
  const problems: RawProbeSet['problems'] = [];
  const columns: string[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      problems.push({ line, column: null, value: text.slice(0, 80), message: `not valid JSON: ${errorMessage(error)}` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({ line, column: null, value: text.slice(0, 80), message: 'expected a JSON object per line' });
      return;
    }
    const fields: Record<string, string> = {};
    let file = '';
    for (const [key, v] of Object.entries(value)) {
      const text = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      if (key === fileColumn) file = text;
      else {
        fields[key] = text;
        if (!columns.includes(key)) columns.push(key);
      }
    }
    rows.push({ line, file, fields });
  });
  if (rows.length === 0 && problems.length === 0) throw new VigilInputError(`Probe-set labels ${source} has no rows`, { subject: source });
  // A key missing on some line reads as an empty value there, so it is reported like one.
  for (const row of rows) for (const column of columns) row.fields[column] ??= '';
  return { format: 'jsonl', root: dirname(source), source, fileColumn, columns, rows, problems };
}

/** The images of a probe-set folder, relative to it, through core's walker (no links out of the folder). */
async function listImages(root: string, out: string[]): Promise<void> {
  for await (const full of walk(root, { extensions: PROBE_IMAGE_EXTENSIONS, dot: true })) out.push(relative(root, full).split(sep).join('/'));
}

/** UTKFace: attributes live in the file name `[age]_[gender]_[race]_[datetime].jpg`. */
async function readUtkFace(root: string): Promise<RawProbeSet> {
  const files: string[] = [];
  await listImages(root, files);
  const rows: RawProbeRow[] = [];
  const problems: RawProbeSet['problems'] = [];
  for (const file of files) {
    const match = UTK_NAME.exec(basename(file));
    if (!match) {
      problems.push({ line: null, column: 'file', value: file, message: 'file name does not follow UTKFace [age]_[gender 0-1]_[race 0-4]_[datetime]' });
      continue;
    }
    rows.push({
      line: null,
      file,
      fields: { age: String(Number(match[1])), gender: UTK_GENDER[Number(match[2])], race: UTK_RACE[Number(match[3])] },
    });
  }
  if (rows.length === 0) throw new VigilInputError(`Probe set ${root} has no labels file and no UTKFace-named images`, { subject: root });
  return { format: 'utkface', root, source: root, fileColumn: 'file', columns: ['age', 'gender', 'race'], rows, problems };
}

/**
 * Column names for an error message. They come from the user's file, so a hostile header (a 1 MB
 * cell, thousands of columns) is shortened rather than echoed whole.
 */
export function describeColumns(columns: readonly string[], limit = 20): string {
  if (columns.length === 0) return '(none)';
  const shown = columns.slice(0, limit).map(describeValue).join(', ');
  return columns.length > limit ? `${shown} and ${columns.length - limit} more` : shown;
}
