/**
 * Validation shared by every probe-set format: each problem is listed with its line, column and
 * value, and the row is left out; nothing stops at the first problem.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import sharp from 'sharp';
import { errorMessage } from '../core/errors.js';
import { sha256File } from '../core/files.js';
import type { Progress } from '../core/progress.js';
import type { RawProbeRow } from './formats.js';

export interface ProbeProblem {
  /** 1-based line of the labels file; null when the format has no lines (UTKFace). */
  line: number | null;
  column: string | null;
  value: string | null;
  message: string;
}

/** A row that passed validation. */
export interface CheckedRow {
  line: number | null;
  /** Path relative to the root, '/'-separated. */
  file: string;
  /** Absolute path. */
  path: string;
  /** sha256 of the image bytes. */
  sha256: string;
  fields: Record<string, string>;
}

/**
 * Where `file` points inside `root`, or why it must be rejected: empty, absolute, a `..` that
 * leaves the root, or (after resolving symlinks) a target outside the root.
 */
export async function resolveInside(realRoot: string, root: string, file: string): Promise<{ path: string } | { problem: string }> {
  if (file.trim() === '') return { problem: 'empty file path' };
  if (isAbsolute(file) || /^[a-zA-Z]:[\\/]/.test(file) || file.startsWith('\\')) return { problem: 'absolute path; paths must be relative to the probe-set root' };
  const normalized = normalize(file.replace(/\\/g, '/'));
  if (normalized === '..' || normalized.startsWith(`..${sep}`) || normalized.startsWith('../')) {
    return { problem: 'path escapes the probe-set root (..)' };
  }
  const path = join(root, normalized);
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'missing file' : `cannot be read: ${errorMessage(error)}` };
  }
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
    return { problem: 'symlink resolves outside the probe-set root' };
  }
  return { path };
}

/** Header-level decode check: a file sharp cannot identify as an image is unreadable. */
async function imageProblem(path: string): Promise<string | null> {
  try {
    const meta = await sharp(path).metadata();
    if (!meta.width || !meta.height) return 'unreadable image: no dimensions';
    return null;
  } catch (error) {
    return `unreadable image: ${errorMessage(error)}`;
  }
}

/**
 * Checks rows: paths, existence, duplicates (same path or same image bytes), empty values in the
 * `required` columns, image readability; hashes every image. Returns the good rows in input order.
 */
export async function checkRows(
  root: string,
  rows: readonly RawProbeRow[],
  required: readonly string[],
  options: { checkImages: boolean; progress: Progress },
): Promise<{ rows: CheckedRow[]; problems: ProbeProblem[] }> {
  const realRoot = await realpath(root);
  const problems: ProbeProblem[] = [];
  const checked: (CheckedRow | null)[] = new Array(rows.length).fill(null);
  const concurrency = 16;
  for (let start = 0; start < rows.length; start += concurrency) {
    await Promise.all(
      rows.slice(start, start + concurrency).map(async (row, offset) => {
        const rowProblems: ProbeProblem[] = [];
        for (const column of required) {
          if ((row.fields[column] ?? '').trim() === '') {
            rowProblems.push({ line: row.line, column, value: row.fields[column] ?? '', message: `empty value in column "${column}"` });
          }
        }
        const where = await resolveInside(realRoot, root, row.file);
        if ('problem' in where) {
          rowProblems.push({ line: row.line, column: 'file', value: row.file, message: where.problem });
        } else {
          const unreadable = options.checkImages ? await imageProblem(where.path) : null;
          if (unreadable) rowProblems.push({ line: row.line, column: 'file', value: row.file, message: unreadable });
          else if (rowProblems.length === 0) {
            checked[start + offset] = {
              line: row.line,
              file: normalize(row.file.replace(/\\/g, '/')).split(sep).join('/'),
              path: where.path,
              sha256: await sha256File(where.path),
              fields: row.fields,
            };
          }
        }
        problems.push(...rowProblems);
        options.progress.increment();
      }),
    );
  }
  // Duplicates: a later row naming the same file, or the same image bytes, is left out.
  const byFile = new Map<string, CheckedRow>();
  const byHash = new Map<string, CheckedRow>();
  const kept: CheckedRow[] = [];
  for (const row of checked) {
    if (!row) continue;
    const sameFile = byFile.get(row.file);
    const sameBytes = byHash.get(row.sha256);
    if (sameFile || sameBytes) {
      const first = (sameFile ?? sameBytes) as CheckedRow;
      const at = first.line === null ? first.file : `line ${first.line}`;
      problems.push({
        line: row.line,
        column: 'file',
        value: row.file,
        message: sameFile ? `duplicate row: same file as ${at}` : `duplicate image: same bytes as ${at}`,
      });
      continue;
    }
    byFile.set(row.file, row);
    byHash.set(row.sha256, row);
    kept.push(row);
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { rows: kept, problems };
}
