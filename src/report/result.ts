import type { ResultEnvelope } from '../core/results.js';

/**
 * results.json of `vigil demo` (schema vigil/demo): the index of the reports the demo wrote.
 * Rendered as the demo's index.html by the same report layer as every other results document.
 */
export interface DemoResult extends ResultEnvelope {
  schema: 'vigil/demo';
  /** One entry per audit the demo ran, in the order it ran them. */
  reports: DemoReportEntry[];
  /** Wall-clock seconds of the whole demo. */
  seconds: number;
}

export interface DemoReportEntry {
  /** The results schema of that audit (vigil/bias, vigil/screen-eval, vigil/provenance). */
  schema: string;
  title: string;
  /** What the audit is for, in one sentence. */
  description: string;
  /** Path of its report.html, relative to the demo folder. */
  report: string;
  /** Path of its results.json, relative to the demo folder. */
  results: string;
  /** Overall verdict or state key of the audit (e.g. "fail", "trusted"), if it has one. */
  verdict?: string;
  /** The audit report's own one-sentence verdict. */
  headline: { label: string; tone: 'good' | 'bad' | 'warn' | 'neutral'; text: string };
  /** A few headline figures, already formatted (with their intervals where they are estimates). */
  highlights: { label: string; value: string }[];
  /** Wall-clock seconds the audit took. */
  seconds: number;
}
