import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { BiasResult } from '../../bias/result.js';
import { errorMessage } from '../../core/errors.js';
import { MAX_DOCUMENT_BYTES, readInputFile } from '../../core/files.js';
import { confinedPath, sampleWithinBudget, thumbnail } from '../images.js';
import type { ViewContext } from '../view.js';

export interface ExampleGroup {
  attribute: string;
  group: string;
  images: { file: string; dataUri: string; width: number; height: number }[];
}

export interface Examples {
  groups: ExampleGroup[];
  /** Images of the flagged groups that were not shown (the report shows a sample). */
  omitted: number;
  note?: string;
}

/** At most this many examples per group, however large the budget: a few faces make the point. */
const MAX_PER_GROUP = 6;

/** The `vigil bias` output beside results.json that lists every image with its attributes. */
const OBSERVATIONS_FILE = 'observations.csv';

/** toCsv prefixes cells that start like a formula with an apostrophe; undo that for file names and labels. */
function unneutralize(cell: string): string {
  return /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

/**
 * The probe-set root as recorded (absolute, or relative to where the audit ran: tried from the
 * current folder, then from the results folder).
 */
function probeRoot(root: string, baseDir: string | undefined): string | undefined {
  if (isAbsolute(root)) return existsSync(root) ? root : undefined;
  const candidates = [resolve(root), ...(baseDir ? [resolve(baseDir, root)] : [])];
  return candidates.find((candidate) => existsSync(candidate));
}

/** The probe loader already rejects paths that leave the root; a hand-edited CSV must not either. */
function insideRoot(root: string, file: string): boolean {
  return resolve(root, file).startsWith(resolve(root) + sep);
}

/**
 * Example images of the groups a verdict flagged, so a reviewer sees who the numbers are about.
 * Group membership comes from observations.csv, which `vigil bias` writes beside results.json; the
 * images from the probe set the results name. Sampled with the report's seed, within its budget.
 */
export async function biasExamples(result: BiasResult, flagged: Map<string, Set<string>>, context: ViewContext): Promise<Examples> {
  if (flagged.size === 0) return { groups: [], omitted: 0 };
  if (!result.probe_set) return { groups: [], omitted: 0, note: 'No probe set is recorded in these results (a predictions audit), so there are no images to show.' };
  const observationsPath = context.baseDir ? join(context.baseDir, OBSERVATIONS_FILE) : undefined;
  if (!observationsPath || !existsSync(observationsPath)) {
    return { groups: [], omitted: 0, note: `Examples need ${OBSERVATIONS_FILE} beside results.json (written by vigil bias); it was not found.` };
  }
  const root = probeRoot(result.probe_set.root, context.baseDir);
  if (!root) return { groups: [], omitted: 0, note: `The probe set ${result.probe_set.root} is not available here, so its images cannot be shown.` };

  let records: Record<string, string>[];
  try {
    // From a results folder that may come from elsewhere: a FIFO or device there must not hang the report.
    const text = (await readInputFile(observationsPath, { what: OBSERVATIONS_FILE, maxBytes: MAX_DOCUMENT_BYTES })).toString('utf8');
    records = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (error) {
    return { groups: [], omitted: 0, note: `${OBSERVATIONS_FILE} could not be read: ${errorMessage(error)}` };
  }

  const components = new Map<string, string[]>();
  for (const audit of result.audits) for (const feature of audit.features) components.set(feature.attribute, feature.components);

  const perGroup = Math.max(1, Math.min(MAX_PER_GROUP, Math.floor(context.maxImages / Math.max(1, [...flagged.values()].reduce((n, s) => n + s.size, 0)))));
  const groups: ExampleGroup[] = [];
  let omitted = 0;
  let budget = context.maxImages;
  for (const [attribute, names] of flagged) {
    const columns = components.get(attribute) ?? [attribute];
    for (const group of names) {
      const files = [
        ...new Set(
          records
            .filter((record) => columns.map((column) => unneutralize(record[column] ?? '')).join(' × ') === group)
            .map((record) => unneutralize(record.file ?? '')),
        ),
      ].filter((file) => file !== '' && insideRoot(root, file));
      const take = Math.min(perGroup, budget);
      const sampled = sampleWithinBudget(files, take, context.seed);
      omitted += sampled.omitted;
      budget -= sampled.items.length;
      const images: ExampleGroup['images'] = [];
      for (const file of sampled.items) {
        const image = await thumbnail(confinedPath(join(root, file), context.imagesUnder));
        if (image) images.push({ file, ...image });
      }
      if (images.length > 0) groups.push({ attribute, group, images });
    }
  }
  return { groups, omitted };
}
