import { join } from 'node:path';
import { toCsv, type CsvCell } from '../core/csv.js';
import { writeFileAtomic } from '../core/files.js';
import type { EvalFile } from './eval.js';
import type { ScreenFileResult } from './result.js';
import { SIGNAL_IDS } from './signals/types.js';

/**
 * `scores.csv`, the per-file table beside the results.json of a screening evaluation: one row per
 * file and perturbation. The report draws its ROC and precision-recall curves from it, so every
 * writer goes through this module and the columns stay the ones the report reads.
 */
export const SCORES_FILE = 'scores.csv';

/** perturbation, file, label (real|fake), generator, fused score, one score column per signal, verdict, error. */
export const SCORES_COLUMNS: readonly string[] = ['perturbation', 'file', 'label', 'generator', 'fused', ...SIGNAL_IDS, 'verdict', 'error'];

/** Collects the rows as `evaluate` scores files (pass `record` as its `onResult`), then writes them. */
export class EvalScores {
  private readonly rows: CsvCell[][] = [];

  readonly record = (perturbation: string, file: EvalFile, result: ScreenFileResult): void => {
    this.rows.push([
      perturbation,
      file.path,
      file.label === 1 ? 'fake' : 'real',
      file.generator,
      result.score,
      ...SIGNAL_IDS.map((id) => result.signals[id]?.score),
      result.verdict,
      result.error,
    ]);
  };

  csv(): string {
    return toCsv(SCORES_COLUMNS, this.rows);
  }

  /** Writes `<outDir>/scores.csv` atomically and returns its path. */
  async write(outDir: string): Promise<string> {
    const path = join(outDir, SCORES_FILE);
    await writeFileAtomic(path, this.csv());
    return path;
  }
}
