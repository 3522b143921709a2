import type { HelperOptions } from 'handlebars';
import type HandlebarsNamespace from 'handlebars';

type Handlebars = typeof HandlebarsNamespace;

/**
 * Every Handlebars helper vigil's templates use, registered in this one place. Helpers that return
 * markup build it from escaped pieces and return a SafeString, so templates never need a
 * triple-stash: data is always escaped, markup only ever comes from here or from the chart renderer.
 */

/** The placeholder shown for a number that is missing or not finite (NaN, undefined). */
export const MISSING = '—';

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Fixed decimals, with thousands grouping for integers (counts). */
export function formatNumber(value: unknown, digits = 3): string {
  if (!isNumber(value)) return MISSING;
  if (Number.isInteger(value) && Math.abs(value) >= 1000) return value.toLocaleString('en-US');
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(digits);
}

/** Always `digits` decimals (metric values: 1 is "1.000", like its neighbours in a column). */
export function formatDecimal(value: unknown, digits = 3): string {
  if (!isNumber(value)) return MISSING;
  // A tiny negative value would print as "-0.000".
  return (Math.abs(value) < 0.5 * 10 ** -digits ? 0 : value).toFixed(digits);
}

/** A proportion in [0, 1] as a percentage ("12.5%"). */
export function formatPercent(value: unknown, digits = 1): string {
  if (!isNumber(value)) return MISSING;
  return `${(value * 100).toFixed(digits)}%`;
}

/** A confidence interval as "[low, high]" in the same unit as its point estimate. */
export function formatInterval(low: unknown, high: unknown, asPercent = false, digits?: number): string {
  if (!isNumber(low) || !isNumber(high)) return MISSING;
  const format = asPercent ? (v: number) => formatPercent(v, digits ?? 1) : (v: number) => formatDecimal(v, digits ?? 3);
  return `[${format(low)}, ${format(high)}]`;
}

/** p-values below 0.001 are shown as a bound, the way papers report them. */
export function formatPValue(value: unknown): string {
  if (!isNumber(value)) return MISSING;
  return value < 0.001 ? '< 0.001' : value.toFixed(3);
}

/**
 * Verdicts and states of every module, each with a symbol and a word so that the meaning never
 * rests on colour alone; `tone` picks one of the colour-blind-safe (Okabe-Ito) badge colours.
 */
export type Tone = 'good' | 'bad' | 'warn' | 'neutral';

const VERDICTS: Record<string, { text: string; symbol: string; tone: Tone }> = {
  pass: { text: 'Pass', symbol: '✓', tone: 'good' },
  fail: { text: 'Fail', symbol: '✗', tone: 'bad' },
  warn: { text: 'Warning', symbol: '!', tone: 'warn' },
  // Bias verdicts: the evidence neither passes nor fails a check; no thresholds at all.
  inconclusive: { text: 'Inconclusive', symbol: '?', tone: 'warn' },
  not_judged: { text: 'Not judged (no thresholds)', symbol: '–', tone: 'neutral' },
  // Screening verdicts never claim authenticity: "no-evidence" is the most a screen can say.
  'likely-synthetic': { text: 'Likely synthetic', symbol: '✗', tone: 'bad' },
  uncertain: { text: 'Uncertain', symbol: '?', tone: 'warn' },
  'no-evidence': { text: 'No evidence of synthesis', symbol: '○', tone: 'neutral' },
  error: { text: 'Error', symbol: '!', tone: 'warn' },
  // C2PA validation states, by their c2pa-rs names.
  trusted: { text: 'Trusted', symbol: '✓', tone: 'good' },
  valid: { text: 'Valid (signer not on a trust list)', symbol: '○', tone: 'neutral' },
  invalid: { text: 'Invalid', symbol: '✗', tone: 'bad' },
  nomanifest: { text: 'No manifest', symbol: '–', tone: 'neutral' },
};

/**
 * Untrusted text made safe for Markdown: src/core/markdown.ts escapes HTML, links, images,
 * emphasis, autolinks, block markers and control characters (`>=` stays `>=`).
 */
import { markdownText } from '../core/markdown.js';

export { markdownText };

export function verdictInfo(verdict: unknown): { text: string; symbol: string; tone: Tone } {
  const key = String(verdict ?? '').toLowerCase();
  return VERDICTS[key] ?? { text: String(verdict ?? MISSING), symbol: '•', tone: 'neutral' };
}

export function registerHelpers(hb: Handlebars): void {
  const { escapeExpression: escape, SafeString } = hb;

  // Handlebars passes its options hash as the last argument: strip it so optional arguments work.
  const args = (list: unknown[]): unknown[] => list.slice(0, -1);

  hb.registerHelper('number', (...list: unknown[]) => {
    const [value, digits] = args(list);
    return formatNumber(value, isNumber(digits) ? digits : 3);
  });
  hb.registerHelper('decimal', (...list: unknown[]) => {
    const [value, digits] = args(list);
    return formatDecimal(value, isNumber(digits) ? digits : 3);
  });
  hb.registerHelper('percent', (...list: unknown[]) => {
    const [value, digits] = args(list);
    return formatPercent(value, isNumber(digits) ? digits : 1);
  });
  /** {{ci interval}} for an object {low, high}, or {{ci low high}}; hash percent=true for rates. */
  hb.registerHelper('ci', (...list: unknown[]) => {
    const options = list[list.length - 1] as HelperOptions;
    const rest = args(list);
    const asPercent = options.hash?.percent === true;
    const digits = isNumber(options.hash?.digits) ? (options.hash.digits as number) : undefined;
    if (rest.length >= 2) return formatInterval(rest[0], rest[1], asPercent, digits);
    const interval = rest[0] as { low?: unknown; high?: unknown } | [unknown, unknown] | undefined;
    if (Array.isArray(interval)) return formatInterval(interval[0], interval[1], asPercent, digits);
    return formatInterval(interval?.low, interval?.high, asPercent, digits);
  });
  hb.registerHelper('pvalue', (value: unknown) => formatPValue(value));
  hb.registerHelper('date', (value: unknown) => {
    if (typeof value !== 'string' && typeof value !== 'number') return MISSING;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  });
  hb.registerHelper('join', (list: unknown, separator: unknown) =>
    Array.isArray(list) ? list.map(String).join(typeof separator === 'string' ? separator : ', ') : MISSING,
  );
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('gt', (a: unknown, b: unknown) => isNumber(a) && isNumber(b) && a > b);
  hb.registerHelper('isNumber', (value: unknown) => isNumber(value));

  /** A verdict or state badge: symbol + words + colour class, announced as one phrase. */
  hb.registerHelper('badge', (value: unknown) => {
    const info = verdictInfo(value);
    return new SafeString(
      `<span class="badge badge-${info.tone}"><span aria-hidden="true">${escape(info.symbol)}</span> ${escape(info.text)}</span>`,
    );
  });
  /** A verdict as plain words with its symbol, for Markdown. */
  hb.registerHelper('badgeText', (value: unknown) => {
    const info = verdictInfo(value);
    return `${info.symbol} ${info.text}`;
  });
  /**
   * A Markdown table cell, with pipes and line breaks neutralised so a value cannot end its cell
   * or its row. Data was made Markdown-safe with its view (markdownText); helper output (numbers,
   * intervals) keeps its brackets; no tag can start.
   */
  hb.registerHelper('cell', (value: unknown) =>
    new SafeString(String(value ?? MISSING).replace(/</g, '&lt;').replace(/\|/g, '&#124;').replace(/\r\n|\r|\n/g, ' ')),
  );
}
