import { dirname, join } from 'node:path';
import { invalidArgument, VigilInputError, errorMessage } from '../core/errors.js';
import { MAX_DOCUMENT_BYTES, readInputFile, sha256Hex, writeFileAtomic } from '../core/files.js';
import { resultsJson, type ResultEnvelope } from '../core/results.js';
import { loadTemplates } from './templates.js';
import { DEFAULT_MAX_IMAGES, type LayoutView, type ReportView, type ViewContext } from './view.js';

export { DEFAULT_MAX_IMAGES };
import { REPORT_MODULES } from './modules/index.js';

export interface RenderOptions {
  /** A copy of templates/ whose files replace the built-in ones (see templates.ts). */
  templatesDir?: string;
  /** Folder of the results.json, to resolve the relative image paths recorded in it. */
  baseDir?: string;
  /** Embed only images under this folder (`vigil report` sets the results' own folder). */
  imagesUnder?: string;
  /** Embed photographs of probe subjects in bias reports (default false: they show people; --include-examples). */
  includeExamples?: boolean;
  /** Size budget: at most this many images in the report (default 24). */
  maxImages?: number;
  /** Seed for sampling images when over budget (default 0). */
  seed?: number;
  /**
   * sha256 of the results.json bytes this report is rendered from (`readResultsDocument` gives it
   * for a file read back). Default: the digest of `resultsJson(results)`, the bytes vigil writes.
   */
  resultsSha256?: string;
}


function checkEnvelope(results: unknown): ResultEnvelope {
  if (typeof results !== 'object' || results === null || Array.isArray(results)) {
    throw invalidArgument('results', 'a vigil results document (a JSON object)', results);
  }
  const schema = (results as { schema?: unknown }).schema;
  if (typeof schema !== 'string' || !(schema in REPORT_MODULES)) {
    throw new VigilInputError(
      `Expected a vigil results document with schema one of ${Object.keys(REPORT_MODULES).join(', ')} but received schema ${JSON.stringify(schema ?? null)}`,
      { subject: 'schema' },
    );
  }
  const version = (results as { schemaVersion?: unknown }).schemaVersion;
  if (version !== 1) {
    throw new VigilInputError(
      `Expected schemaVersion 1 for ${schema} (this is vigil's report renderer for version 1) but received ${JSON.stringify(version ?? null)}`,
      { subject: 'schemaVersion' },
    );
  }
  return results as ResultEnvelope;
}

function viewContext(options: RenderOptions, visuals: boolean): ViewContext {
  const maxImages = options.maxImages ?? DEFAULT_MAX_IMAGES;
  if (!Number.isInteger(maxImages) || maxImages < 0) throw invalidArgument('maxImages', 'a non-negative integer', maxImages);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw invalidArgument('seed', 'an integer', seed);
  const resultsSha256 = options.resultsSha256;
  if (resultsSha256 !== undefined && !/^[0-9a-f]{64}$/.test(resultsSha256)) throw invalidArgument('resultsSha256', '64 lowercase hex digits', resultsSha256);
  return { baseDir: options.baseDir, imagesUnder: options.imagesUnder, includeExamples: visuals && options.includeExamples === true, maxImages: visuals ? maxImages : 0, seed, visuals, resultsSha256 };
}

/** Builds the layout view of any vigil results document (shared by every output format). */
export async function buildLayoutView(results: unknown, context: ViewContext): Promise<LayoutView> {
  const envelope = checkEnvelope(results);
  const module = REPORT_MODULES[envelope.schema];
  let view: ReportView;
  try {
    view = await module.buildView(results as never, context);
  } catch (error) {
    if (error instanceof VigilInputError) throw error;
    // A hand-edited or truncated document: say which kind failed to render, not a stack trace.
    throw new VigilInputError(`The ${envelope.schema} results document is incomplete or malformed: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  // The one place a report learns which results.json it shows: header, reproducibility table, footer and PDF footer.
  const resultsSha256 = context.resultsSha256 ?? sha256Hex(resultsJson(envelope));
  return {
    ...view,
    reproducibility: [...view.reproducibility, { label: 'Results sha256', value: resultsSha256, mono: true }],
    schema: envelope.schema,
    tool: envelope.tool,
    createdAt: envelope.createdAt,
    resultsSha256,
  };
}

/**
 * Renders any vigil results document (bias, screen, screen-eval, provenance, demo) to one
 * self-contained HTML page: inline CSS, charts as inline SVG, images as downscaled data URIs, no
 * scripts and nothing fetched. Rendering reads the document only (and the image files it names).
 */
export async function renderReport(results: unknown, options: RenderOptions = {}): Promise<string> {
  const templates = loadTemplates('html', options.templatesDir);
  return templates.render(await buildLayoutView(results, viewContext(options, true)));
}

/** The same report as Markdown (tables and text; charts and images left out). */
export async function renderMarkdown(results: unknown, options: RenderOptions = {}): Promise<string> {
  const templates = loadTemplates('markdown', options.templatesDir);
  return templates.render(await buildLayoutView(results, viewContext(options, false)));
}

/**
 * What every audit command calls after writing results.json: renders the report and writes
 * `<outDir>/report.html` atomically. Returns the path written.
 */
export async function writeReport(results: unknown, outDir: string, options: Omit<RenderOptions, 'baseDir'> = {}): Promise<string> {
  const html = await renderReport(results, { ...options, baseDir: outDir });
  const path = join(outDir, 'report.html');
  await writeFileAtomic(path, html);
  return path;
}

/** Reads and parses a results.json, with errors that name the file. */
export async function readResults(path: string): Promise<unknown> {
  return (await readResultsDocument(path)).results;
}

/** A results.json read back with the sha256 of its exact bytes (what `sha256sum` and `vigil results sign` print). */
export async function readResultsDocument(path: string): Promise<{ results: unknown; sha256: string }> {
  const bytes = await readInputFile(path, { what: 'the results file', maxBytes: MAX_DOCUMENT_BYTES });
  try {
    return { results: JSON.parse(bytes.toString('utf8')) as unknown, sha256: sha256Hex(bytes) };
  } catch (error) {
    throw new VigilInputError(`The results file ${path} is not valid JSON: ${errorMessage(error)}`, { subject: path, cause: error });
  }
}

/** The folder image paths in a results file resolve against. */
export function resultsBaseDir(path: string): string {
  return dirname(path);
}
