import Handlebars from 'handlebars';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Charts are Vega-Lite specs rendered on the server to SVG through vega's headless View
 * (renderer 'none' + toSVG: no canvas, no DOM, no network). Data is always inlined, so the SVG in
 * the report is complete and static. vega escapes every text it writes into the SVG, so labels
 * that come from data (group names, generator names) stay text.
 */

/** Okabe & Ito's colour-blind-safe palette; the first entries are the ones charts use most. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

const CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  background: 'white',
  range: { category: PALETTE },
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 220 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  title: { fontSize: 13, anchor: 'start' },
  view: { stroke: null },
} as const;

/** Renders a Vega-Lite spec to an SVG string. `description` becomes the SVG's accessible name. */
export async function renderChartSvg(spec: Record<string, unknown>, description: string): Promise<string> {
  const full = { ...spec, description, config: { ...CONFIG, ...(spec.config as object | undefined) } } as TopLevelSpec;
  // Warnings of vega(-lite) about a spec are bugs of these builders, not news for the user: only errors surface.
  const logger = vega.logger(vega.Error);
  const runtime = vega.parse(compile(full, { logger }).spec);
  // A loader that refuses everything: a chart spec that names an external URL is a bug, not a fetch.
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`charts render from inline data only; refused to load ${uri}`);
  };
  const view = new vega.View(runtime, { renderer: 'none', loader, logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A chart ready for the `chart` partial: the SVG is marked safe because it is vega's output, not data. */
export interface ChartFigure {
  svg: Handlebars.SafeString;
  /** Text alternative: the chart's numbers in words. */
  alt: string;
  caption: string;
}

export async function chartFigure(spec: Record<string, unknown>, alt: string, caption: string): Promise<ChartFigure> {
  return { svg: new Handlebars.SafeString(await renderChartSvg(spec, alt)), alt, caption };
}

export interface IntervalBar {
  /** The group or category label, shown on the y axis. */
  label: string;
  value: number;
  low?: number;
  high?: number;
  /** Marked bars are drawn in the second palette colour and with a hatched-free outline + legend text. */
  marked?: boolean;
}

/**
 * Horizontal bars with confidence-interval whiskers (per-group metrics). Marked groups (e.g. small
 * or flagged ones) get a different colour and a legend entry, so the distinction is also in text.
 */
export function intervalBarsSpec(
  bars: readonly IntervalBar[],
  options: {
    valueTitle: string;
    percent?: boolean;
    reference?: number;
    referenceLabel?: string;
    markedLabel?: string;
    unmarkedLabel?: string;
  },
): Record<string, unknown> {
  const format = options.percent ? '.0%' : '.2f';
  const values = bars.map((bar) => ({
    label: bar.label,
    value: bar.value,
    low: bar.low ?? bar.value,
    high: bar.high ?? bar.value,
    status: bar.marked ? (options.markedLabel ?? 'flagged') : (options.unmarkedLabel ?? 'other'),
  }));
  const y = { field: 'label', type: 'nominal', title: null, sort: null };
  const layers: Record<string, unknown>[] = [
    {
      mark: { type: 'bar', height: { band: 0.7 } },
      encoding: {
        y,
        x: { field: 'value', type: 'quantitative', title: options.valueTitle, axis: { format } },
        color: {
          field: 'status',
          type: 'nominal',
          title: null,
          scale: { domain: [options.unmarkedLabel ?? 'other', options.markedLabel ?? 'flagged'], range: [PALETTE[0], PALETTE[1]] },
          legend: bars.some((bar) => bar.marked) ? { orient: 'bottom' } : null,
        },
      },
    },
    {
      mark: { type: 'rule', color: '#000000', strokeWidth: 1.5 },
      encoding: { y, x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } },
    },
    {
      mark: { type: 'tick', color: '#000000', thickness: 1.5, size: 10, orient: 'vertical' },
      encoding: { y, x: { field: 'low', type: 'quantitative' } },
    },
    {
      mark: { type: 'tick', color: '#000000', thickness: 1.5, size: 10, orient: 'vertical' },
      encoding: { y, x: { field: 'high', type: 'quantitative' } },
    },
  ];
  if (options.reference !== undefined) {
    layers.push({
      data: { values: [{ reference: options.reference, text: options.referenceLabel ?? '' }] },
      mark: { type: 'rule', strokeDash: [4, 3], color: '#555555' },
      encoding: { x: { field: 'reference', type: 'quantitative' } },
    });
  }
  return {
    width: 420,
    height: { step: 22 },
    data: { values },
    layer: layers,
  };
}

export interface HistogramValue {
  score: number;
  /** Series, e.g. the ground-truth class or the verdict. */
  series: string;
}

/** A stacked histogram of scores in [0, 1] with optional vertical threshold rules. */
export function histogramSpec(
  scores: readonly HistogramValue[],
  options: {
    scoreTitle: string;
    bins?: number;
    thresholds?: { value: number; label: string }[];
    /** Fixed colours per series (e.g. verdict colours matching the badges). */
    colors?: { domain: string[]; range: string[] };
  },
): Record<string, unknown> {
  const layers: Record<string, unknown>[] = [
    {
      data: { values: scores.map((s) => ({ score: s.score, series: s.series })) },
      mark: 'bar',
      encoding: {
        x: {
          field: 'score',
          type: 'quantitative',
          bin: { maxbins: options.bins ?? 20, extent: [0, 1] },
          title: options.scoreTitle,
        },
        y: { aggregate: 'count', type: 'quantitative', title: 'Files', axis: { tickMinStep: 1, format: 'd' } },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          legend: { orient: 'bottom' },
          ...(options.colors ? { scale: options.colors } : {}),
        },
      },
    },
  ];
  if (options.thresholds && options.thresholds.length > 0) {
    layers.push({
      data: { values: options.thresholds },
      mark: { type: 'rule', strokeDash: [4, 3], color: '#000000' },
      encoding: {
        x: { field: 'value', type: 'quantitative' },
        tooltip: { field: 'label', type: 'nominal' },
      },
    });
  }
  return { width: 480, height: 180, layer: layers };
}

export interface CurvePoint {
  series: string;
  x: number;
  y: number;
}

/** Line curves (ROC, precision-recall) in the unit square, one colour and one dash per series. */
export function curvesSpec(
  points: readonly CurvePoint[],
  options: { xTitle: string; yTitle: string; diagonal?: boolean },
): Record<string, unknown> {
  const layers: Record<string, unknown>[] = [
    {
      data: { values: points.map((p, order) => ({ ...p, order })) },
      mark: { type: 'line', strokeWidth: 2, interpolate: 'linear' },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: options.xTitle, scale: { domain: [0, 1] } },
        y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: { domain: [0, 1] } },
        // Colour and dash both encode the series (one merged legend), so curves differ without colour.
        color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1 } },
        strokeDash: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1 } },
        order: { field: 'order', type: 'quantitative' },
      },
    },
  ];
  if (options.diagonal) {
    layers.unshift({
      data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
      mark: { type: 'line', color: '#999999', strokeDash: [2, 2], strokeWidth: 1 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
    });
  }
  return { width: 260, height: 260, layer: layers };
}
