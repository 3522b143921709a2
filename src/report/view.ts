import type { ResultEnvelope } from '../core/results.js';

/**
 * What a module hands to the layout: the layout renders the header, summary, notes, the module's
 * own partial (with `body`), the reproducibility block and the limitations. Built by one pure-ish
 * function per results kind (src/report/modules/*.ts) from the results document alone.
 */
export interface ReportView {
  /** Name of the partial (templates/<format>/partials/<partial>.hbs) that renders `body`. */
  partial: string;
  /** Human name of the document kind ("Bias audit"). */
  kindLabel: string;
  title: string;
  subtitle?: string;
  /** Overall verdict or state key (see helpers.ts verdictInfo), when the document has one. */
  verdict?: string;
  verdictReason?: string;
  /**
   * The one sentence a reviewer reads first ("FAIL: accuracy is 31.0 points lower for … [22.0, 40.0]").
   * `label` is the verdict in capitals; the sentence states the evidence and its interval.
   */
  headline: Headline;
  /** Key figures at the top. `key` is a stable id (data-key in HTML) and `raw` the number shown. */
  summary: SummaryFigure[];
  /** Table of contents entries: the module's own top-level sections. */
  sections: { id: string; title: string }[];
  /** Notes shown above the body (e.g. "12 of 40 images shown to keep the report small"). */
  notes: string[];
  body: object;
  reproducibility: ReproducibilityItem[];
  limitations: string[];
}

export interface Headline {
  label: string;
  tone: 'good' | 'bad' | 'warn' | 'neutral';
  text: string;
}

export interface SummaryFigure {
  key: string;
  label: string;
  /** The formatted value. */
  value: string;
  raw?: number;
  /** Its confidence interval, formatted in the same unit, when the value is an estimate. */
  interval?: string;
}

export interface ReproducibilityItem {
  label: string;
  value: string;
  /** Rendered in a monospace face (hashes, paths, commands). */
  mono?: boolean;
}

/** What the layout receives: the module's view plus the document envelope. */
export type LayoutView = ReportView & Pick<ResultEnvelope, 'schema' | 'tool' | 'createdAt'> & {
  /** sha256 of the results.json bytes the report shows, so a PDF or page can be matched to its JSON. */
  resultsSha256: string;
};

export interface ViewContext {
  /** The folder of results.json: relative image paths in the results resolve against it. */
  baseDir?: string;
  /** When set, only images under this folder are embedded (re-rendering results that may come from elsewhere). */
  imagesUnder?: string;
  /** Embed photographs of probe subjects (bias examples): off unless asked for (--include-examples). */
  includeExamples: boolean;
  /** At most this many images in the whole report. */
  maxImages: number;
  /** Seed for choosing which images to show when there are more than maxImages. */
  seed: number;
  /** Charts as inline SVG and embedded images (Markdown output has neither). */
  visuals: boolean;
  /** sha256 of the results.json bytes, when read from a file (see RenderOptions.resultsSha256). */
  resultsSha256?: string;
}

/** Size budget of a report: at most this many embedded images unless --max-images says otherwise. */
export const DEFAULT_MAX_IMAGES = 24;

/** Reproducibility lines every report has, from the envelope. */
export function envelopeReproducibility(envelope: ResultEnvelope): ReproducibilityItem[] {
  return [
    { label: 'Tool', value: `${envelope.tool.name} ${envelope.tool.version} (Node ${envelope.tool.node})` },
    { label: 'Results schema', value: `${envelope.schema} v${envelope.schemaVersion}`, mono: true },
    { label: 'Created', value: envelope.createdAt },
  ];
}
