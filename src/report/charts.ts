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
  // Charts are drawn about as wide as the report's content (~1,000 px) and scaled to it, so these sizes are what a reader sees.
  axis: { labelFontSize: 13, titleFontSize: 13, labelLimit: 260, tickCount: 6 },
  legend: { labelFontSize: 13, titleFontSize: 13, labelLimit: 420, symbolStrokeWidth: 3, symbolSize: 300 },
  title: { fontSize: 14, anchor: 'start' },
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
  // Direct labels: each bar's value, right of its interval, so no one reads values off the axis.
  layers.push({
    mark: { type: 'text', align: 'left', dx: 6, fontSize: 12, color: '#1a1a1a' },
    encoding: { y, x: { field: 'high', type: 'quantitative' }, text: { field: 'value', type: 'quantitative', format: options.percent ? '.1%' : '.3f' } },
  });
  if (options.reference !== undefined) {
    layers.push({
      data: { values: [{ reference: options.reference, text: options.referenceLabel ?? '' }] },
      mark: { type: 'rule', strokeDash: [4, 3], color: '#555555' },
      encoding: { x: { field: 'reference', type: 'quantitative' } },
    });
    if (options.referenceLabel) {
      layers.push({
        data: { values: [{ reference: options.reference, text: options.referenceLabel }] },
        mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, dy: -14, fontSize: 12, color: '#555555' },
        encoding: { x: { field: 'reference', type: 'quantitative' }, y: { value: 0 }, text: { field: 'text' } },
      });
    }
  }
  return {
    width: 760,
    height: { step: 26 },
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
  return { width: 900, height: 200, layer: layers };
}

export interface CurvePoint {
  series: string;
  x: number;
  y: number;
}

/** Line curves (ROC, precision-recall) in the unit square, one colour and one dash per series. */
export function curvesSpec(
  points: readonly CurvePoint[],
  options: {
    xTitle: string;
    yTitle: string;
    diagonal?: boolean;
    /**
     * A zoomed panel beside the full one: `x` its range, `y` 'low' for from just below the lowest
     * curve in that range to 1. Curves that hug the frame in the full view separate here.
     */
    zoom?: { x: [number, number]; y: 'low' };
  },
): Record<string, unknown> {
  const values = points.map((p, order) => ({ ...p, order }));
  const series = { field: 'series', type: 'nominal', title: null };
  // Padding keeps a curve at 0 or 1 off the frame, where it would disappear into it.
  const scale = (domain: [number, number]) => ({ domain, nice: false, padding: 8 });
  const panel = (x: [number, number], y: [number, number], title: string | null, size: number): Record<string, unknown> => {
    const layers: Record<string, unknown>[] = [
      {
        data: { values },
        // Clipped to the panel, so the zoomed view shows only its range.
        mark: { type: 'line', strokeWidth: 2.5, interpolate: 'linear', clip: true },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: options.xTitle, scale: scale(x) },
          y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: scale(y) },
          // Colour and dash both encode the series (one merged legend), so curves differ without colour.
          color: { ...series, legend: { orient: 'bottom', columns: 2 } },
          strokeDash: { ...series, legend: { orient: 'bottom', columns: 2 } },
          order: { field: 'order', type: 'quantitative' },
        },
      },
    ];
    if (options.diagonal) {
      layers.unshift({
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', color: '#999999', strokeDash: [2, 2], strokeWidth: 1, clip: true },
        // The same explicit domains as the curves: a layer without them would widen the zoomed range back to [0, 1].
        encoding: { x: { field: 'x', type: 'quantitative', scale: scale(x) }, y: { field: 'y', type: 'quantitative', scale: scale(y) } },
      });
    }
    return { width: size, height: size * 0.8, ...(title ? { title } : {}), layer: layers };
  };
  /** The full view alone, wide: without a zoom, or when no curve crowds the zoomed range. */
  const wide = (): Record<string, unknown> => ({ ...panel([0, 1], [0, 1], null, 900), height: 380 });
  if (!options.zoom) return wide();
  const [x0, x1] = options.zoom.x;
  // The zoom is for the curves that crowd the top of the frame (mean y ≥ 0.8 in the range): its y
  // range starts just below the lowest of them. Weaker curves are clipped there; the full view has them.
  // (Points exactly at the range's start are left out: an ROC curve rises from 0 there.)
  const crowded = [...new Set(points.map((p) => p.series))]
    .map((name) => points.filter((p) => p.series === name && p.x > x0 && p.x <= x1).map((p) => p.y))
    .filter((ys) => ys.length > 0 && ys.reduce((a, b) => a + b, 0) / ys.length >= 0.8);
  if (crowded.length === 0) return wide();
  const low = Math.max(0, Math.floor((Math.min(...crowded.flat()) - 0.02) * 20) / 20);
  const zoomTitle = `Zoom: ${Math.round(x0 * 100)}–${Math.round(x1 * 100)}% on the x axis`;
  return {
    hconcat: [panel([0, 1], [0, 1], null, 420), panel([x0, x1], [Math.min(low, 0.95), 1], zoomTitle, 420)],
    spacing: 40,
    resolve: { scale: { x: 'independent', y: 'independent', color: 'shared', strokeDash: 'shared' }, legend: { color: 'shared', strokeDash: 'shared' } },
  };
}

export interface TimelinePoint {
  second: number;
  maxScore: number;
  meanScore: number;
  /** The verdict of that second, in words (the badge text). */
  verdict: string;
}

/**
 * A video's P(synthetic) per second over its verdict bands: shaded background bands for "no
 * evidence", "uncertain" and "likely synthetic" (from the thresholds), the highest frame score of
 * each second as a solid line with points coloured by that second's verdict, and the mean frame
 * score dashed.
 */
export function timelineSpec(
  points: readonly TimelinePoint[],
  options: { thresholds?: { uncertain: number; likelySynthetic: number }; colors: { domain: string[]; range: string[] } },
): Record<string, unknown> {
  const last = Math.max(1, ...points.map((p) => p.second + 1));
  const x = { field: 'second', type: 'quantitative', title: 'Second of video', scale: { domain: [0, last], nice: false }, axis: { tickMinStep: 1, format: 'd' } };
  const y = { type: 'quantitative', title: 'P(synthetic)', scale: { domain: [0, 1] } };
  const layers: Record<string, unknown>[] = [];
  if (options.thresholds) {
    const { uncertain, likelySynthetic } = options.thresholds;
    const [likelyLabel, uncertainLabel, noneLabel] = options.colors.domain;
    const bands = [
      { from: 0, to: uncertain, band: noneLabel },
      { from: uncertain, to: likelySynthetic, band: uncertainLabel },
      { from: likelySynthetic, to: 1, band: likelyLabel },
    ];
    layers.push(
      {
        data: { values: bands },
        mark: { type: 'rect', opacity: 0.12 },
        encoding: {
          y: { field: 'from', ...y },
          y2: { field: 'to' },
          color: { field: 'band', type: 'nominal', scale: options.colors, legend: null },
        },
      },
      {
        // Direct labels beside the bands, right of the plot (where no point can hide them): the bands say which verdict a height means.
        data: { values: bands.map((b) => ({ ...b, middle: (b.from + b.to) / 2 })) },
        mark: { type: 'text', align: 'left', dx: 6, fontSize: 12, color: '#333333' },
        encoding: { y: { field: 'middle', ...y }, x: { datum: last }, text: { field: 'band' } },
      },
    );
  }
  // Points sit at the middle of their second.
  const values = points.map((p) => ({ ...p, second: p.second + 0.5 }));
  layers.push(
    {
      data: { values: values.map((p) => ({ second: p.second, score: p.meanScore, series: 'mean of the second’s frames' })) },
      mark: { type: 'line', strokeDash: [5, 4], strokeWidth: 1.5, color: '#555555' },
      encoding: { x, y: { field: 'score', ...y } },
    },
    {
      data: { values },
      mark: { type: 'line', strokeWidth: 2.5, color: '#000000' },
      encoding: { x, y: { field: 'maxScore', ...y } },
    },
    {
      data: { values },
      mark: { type: 'point', filled: true, size: 90, stroke: '#000000', strokeWidth: 1 },
      encoding: {
        x,
        y: { field: 'maxScore', ...y },
        color: { field: 'verdict', type: 'nominal', title: null, scale: options.colors, legend: { orient: 'bottom' } },
      },
    },
  );
  return { width: 840, height: 220, layer: layers, resolve: { scale: { color: 'shared' } } };
}
