/** Writes `<out>/results.json` and `<out>/observations.csv` (atomically, through the one CSV writer). */
import { join } from 'node:path';
import { toCsv, type CsvCell } from '../core/csv.js';
import { writeFileAtomic } from '../core/files.js';
import { resultsJson } from '../core/results.js';
import type { AuditObservations } from './run.js';
import type { BiasResult } from './result.js';

/**
 * One row per audit and observation: the audit id, the image, its attributes, ground truth,
 * prediction, numeric values (`reconstruction_error`, `association`, `score`) and retrieval scores
 * (`score[<query>]`).
 */
export function observationsCsv(runs: readonly AuditObservations[]): string {
  const attributes: string[] = [];
  const values: string[] = [];
  const scores: string[] = [];
  const add = (list: string[], key: string) => {
    if (!list.includes(key)) list.push(key);
  };
  for (const run of runs) {
    for (const o of run.observations.slice(0, 1)) {
      Object.keys(o.attributes).forEach((k) => add(attributes, k));
      Object.keys(o.values).forEach((k) => add(values, k));
      Object.keys(o.scores).forEach((k) => add(scores, k));
    }
  }
  const columns = ['audit', 'file', 'sha256', ...attributes, 'truth', 'prediction', ...values, ...scores.map((q) => `score[${q}]`)];
  const rows = function* (): Generator<CsvCell[]> {
    for (const run of runs) {
      for (const o of run.observations) {
        yield [
          run.audit,
          o.file,
          o.sha256,
          ...attributes.map((a) => o.attributes[a]),
          o.truth,
          o.prediction,
          ...values.map((v) => o.values[v]),
          ...scores.map((q) => o.scores[q]),
        ];
      }
    }
  };
  return toCsv(columns, rows());
}

export async function writeBiasOutputs(outDir: string, result: BiasResult, observations: readonly AuditObservations[]): Promise<{ results: string; observations: string }> {
  const paths = { results: join(outDir, 'results.json'), observations: join(outDir, 'observations.csv') };
  await writeFileAtomic(paths.observations, observationsCsv(observations));
  await writeFileAtomic(paths.results, resultsJson(result));
  return paths;
}
