/**
 * COCO object-detection evaluation, as pycocotools' COCOeval does it (bbox and segm):
 * per image and category, detections sorted by score (stable) and cut at maxDets, greedily matched
 * to the ground truth with the highest IoU above each threshold (non-ignored ground truth first;
 * a crowd region can absorb any number of detections and its IoU is intersection / detection area);
 * ground truth outside the area range or crowd is ignored, as are unmatched detections outside the
 * area range; precision is made monotone and sampled at 101 recall points; AP and AR average over
 * categories (and IoU thresholds) that have ground truth.
 *
 * The evaluation is split into `evaluateImage` (matching, which does not depend on which images are
 * in a sample) and `accumulate` (precision/recall from image evaluations, with an optional weight
 * per image), so that a bootstrap over images re-runs only the accumulation.
 */
import { masksIou, type BinaryMask } from './masks.js';

export type Box = [number, number, number, number];

/** One ground-truth annotation (COCO instances format, after validation). */
export interface GroundTruth {
  id: number;
  image_id: number;
  category_id: number;
  /** x, y, width, height in pixels. */
  bbox: Box;
  /** The annotation's `area` (COCO: the mask area), which decides its area range. */
  area: number;
  iscrowd: boolean;
  mask?: BinaryMask;
}

/** One detection (COCO results format, after validation). */
export interface Detection {
  image_id: number;
  category_id: number;
  bbox: Box;
  score: number;
  /** bbox: width × height; segm: the mask area (as COCO.loadRes computes it). */
  area: number;
  mask?: BinaryMask;
}

export type IouType = 'bbox' | 'segm';

/** COCO's area ranges (pixels²). */
export const AREA_RANGES: Record<'all' | 'small' | 'medium' | 'large', [number, number]> = {
  all: [0, 1e10],
  small: [0, 32 ** 2],
  medium: [32 ** 2, 96 ** 2],
  large: [96 ** 2, 1e10],
};

/** np.linspace(.5, .95, 10) and np.linspace(0, 1, 101) as COCOeval builds them. */
export const IOU_THRESHOLDS: readonly number[] = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
export const RECALL_THRESHOLDS: readonly number[] = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);
export const MAX_DETS: readonly number[] = [1, 10, 100];

function linspace(start: number, stop: number, num: number): number[] {
  // numpy: step = (stop - start) / div; y = arange(num) * step + start; y[-1] = stop
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

/** IoU of boxes as pycocotools' bbIou: crowd ground truth divides by the detection's area only. */
export function boxIou(d: Box, g: Box, crowd: boolean): number {
  const w = Math.min(d[0] + d[2], g[0] + g[2]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[1] + d[3], g[1] + g[3]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const i = w * h;
  const da = d[2] * d[3];
  const u = crowd ? da : da + g[2] * g[3] - i;
  return i / u;
}

/** A stable sort of indices by descending score (np.argsort(-scores, kind='mergesort')). */
export function orderByScore(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}

/** The matching of one image × category at one area range and maxDets (COCOeval.evaluateImg). */
export interface ImageEvaluation {
  /** Scores of the kept detections, in score order. */
  dtScores: number[];
  /** The kept detections (score order, at most maxDets) as indices into the input list. */
  dtOrder: number[];
  /** [threshold][detection]: matched to a ground truth. */
  dtMatched: Uint8Array[];
  /** [threshold][detection]: ignored (matched to ignored ground truth, or unmatched and out of range). */
  dtIgnore: Uint8Array[];
  /** Ground truth in COCO's order (non-ignored first), as indices into the input list. */
  gtOrder: number[];
  /** Per ground truth (in gtOrder): ignored. */
  gtIgnore: Uint8Array;
  /** [threshold][ground truth in gtOrder]: matched by a detection. */
  gtMatched: Uint8Array[];
}

export interface EvaluateImageOptions {
  areaRange: [number, number];
  maxDets: number;
  iouThresholds?: readonly number[];
  iouType?: IouType;
  /** Extra ground truth to ignore (as crowd regions are), by index: e.g. persons of other groups. */
  ignore?: (index: number) => boolean;
}

/**
 * COCOeval.evaluateImg for one image and category. Returns null when there is neither ground
 * truth nor detection (COCO leaves such images out of the accumulation).
 */
export function evaluateImage(gts: readonly GroundTruth[], dts: readonly Detection[], options: EvaluateImageOptions): ImageEvaluation | null {
  if (gts.length === 0 && dts.length === 0) return null;
  const thresholds = options.iouThresholds ?? IOU_THRESHOLDS;
  const [lo, hi] = options.areaRange;
  const ignoredGt = gts.map((g, i) => g.iscrowd || g.area < lo || g.area > hi || (options.ignore?.(i) ?? false));
  // np.argsort(gtIg, kind='mergesort'): non-ignored first, stable.
  const gtOrder = [...gts.keys()].sort((a, b) => Number(ignoredGt[a]) - Number(ignoredGt[b]) || a - b);
  const dtOrder = orderByScore(dts.map((d) => d.score)).slice(0, options.maxDets);
  const g = gtOrder.map((i) => gts[i]);
  const d = dtOrder.map((i) => dts[i]);
  const gtIgnore = Uint8Array.from(gtOrder, (i) => (ignoredGt[i] ? 1 : 0));
  const iou = (di: number, gi: number): number =>
    options.iouType === 'segm' ? maskIouOf(d[di], g[gi]) : boxIou(d[di].bbox, g[gi].bbox, g[gi].iscrowd);
  const ious = d.map((_, di) => g.map((_, gi) => iou(di, gi)));
  const dtMatched = thresholds.map(() => new Uint8Array(d.length));
  const dtIgnore = thresholds.map(() => new Uint8Array(d.length));
  const gtMatched = thresholds.map(() => new Uint8Array(g.length));
  if (g.length > 0) {
    thresholds.forEach((t, ti) => {
      for (let di = 0; di < d.length; di++) {
        let best = Math.min(t, 1 - 1e-10);
        let m = -1;
        for (let gi = 0; gi < g.length; gi++) {
          // A matched ground truth takes no second detection, unless it is a crowd region.
          if (gtMatched[ti][gi] > 0 && !g[gi].iscrowd) continue;
          // Matched to a regular ground truth already and only ignored ones remain: stop.
          if (m > -1 && gtIgnore[m] === 0 && gtIgnore[gi] === 1) break;
          if (ious[di][gi] < best) continue;
          best = ious[di][gi];
          m = gi;
        }
        if (m === -1) continue;
        dtIgnore[ti][di] = gtIgnore[m];
        dtMatched[ti][di] = 1;
        gtMatched[ti][m] = 1;
      }
    });
  }
  // Unmatched detections outside the area range are ignored.
  d.forEach((det, di) => {
    const outside = det.area < lo || det.area > hi;
    if (!outside) return;
    thresholds.forEach((_, ti) => {
      if (dtMatched[ti][di] === 0) dtIgnore[ti][di] = 1;
    });
  });
  return { dtScores: d.map((x) => x.score), dtOrder, dtMatched, dtIgnore, gtOrder, gtIgnore, gtMatched };
}

function maskIouOf(d: Detection, g: GroundTruth): number {
  if (!d.mask || !g.mask) throw new Error('segm evaluation needs a mask on every detection and ground truth');
  return masksIou(d.mask, g.mask, g.iscrowd);
}

/** Precision at the 101 recall points and final recall, per IoU threshold (COCOeval.accumulate). */
export interface Accumulated {
  /** [threshold][recall point]; -1 when there is no non-ignored ground truth. */
  precision: Float64Array[];
  /** [threshold]; -1 when there is no non-ignored ground truth. */
  recall: Float64Array;
}

/** Image evaluations' kept detections in COCO's global order (stable, by descending score). */
export interface PreparedAccumulation {
  evaluations: readonly (ImageEvaluation | null)[];
  thresholds: number;
  /** Image index of every kept detection, in score order. */
  image: Int32Array;
  /** Non-ignored ground truth per image. */
  npig: Float64Array;
  /** [threshold × detection], in score order: 0 ignored, 1 true positive, 2 false positive. */
  outcome: Uint8Array;
}

/** Gathers and orders the detections once; a bootstrap then re-weights images without re-sorting. */
export function prepareAccumulation(evaluations: readonly (ImageEvaluation | null)[], maxDets: number): PreparedAccumulation {
  const thresholds = evaluations.find((e) => e !== null)?.dtMatched.length ?? IOU_THRESHOLDS.length;
  const image: number[] = [];
  const index: number[] = [];
  const scores: number[] = [];
  const npig = new Float64Array(evaluations.length);
  evaluations.forEach((e, i) => {
    if (e === null) return;
    for (let k = 0; k < e.gtIgnore.length; k++) if (e.gtIgnore[k] === 0) npig[i]++;
    const n = Math.min(maxDets, e.dtScores.length);
    for (let k = 0; k < n; k++) {
      image.push(i);
      index.push(k);
      scores.push(e.dtScores[k]);
    }
  });
  const order = orderByScore(scores);
  const outcome = new Uint8Array(thresholds * order.length);
  order.forEach((j, rank) => {
    const e = evaluations[image[j]] as ImageEvaluation;
    for (let t = 0; t < thresholds; t++) {
      outcome[t * order.length + rank] = e.dtIgnore[t][index[j]] === 1 ? 0 : e.dtMatched[t][index[j]] === 1 ? 1 : 2;
    }
  });
  return {
    evaluations,
    thresholds,
    image: Int32Array.from(order, (j) => image[j]),
    npig,
    outcome,
  };
}

/**
 * COCOeval.accumulate for one category, area range and maxDets, over image evaluations (nulls
 * skipped). `weights[i]` repeats image i that many times (a bootstrap resample; its copies are
 * adjacent in the score order, which differs from re-sorting only among equal scores); default 1.
 */
export function accumulate(evaluations: readonly (ImageEvaluation | null)[] | PreparedAccumulation, maxDets: number, weights?: ArrayLike<number>): Accumulated {
  const prepared = 'npig' in evaluations ? evaluations : prepareAccumulation(evaluations, maxDets);
  const { thresholds, image, outcome } = prepared;
  const count = image.length;
  const precision = Array.from({ length: thresholds }, () => new Float64Array(RECALL_THRESHOLDS.length).fill(-1));
  const recall = new Float64Array(thresholds).fill(-1);
  let npig = 0;
  let nd = 0;
  prepared.evaluations.forEach((e, i) => {
    if (e === null) return;
    const w = weights ? weights[i] : 1;
    npig += w * prepared.npig[i];
  });
  for (let j = 0; j < image.length; j++) nd += weights ? weights[image[j]] : 1;
  if (npig === 0) return { precision, recall };
  const eps = Number.EPSILON; // np.spacing(1)
  const rc = new Float64Array(nd);
  const pr = new Float64Array(nd);
  for (let t = 0; t < thresholds; t++) {
    let tp = 0;
    let fp = 0;
    let kept = 0;
    const base = t * count;
    for (let j = 0; j < count; j++) {
      const w = weights ? weights[image[j]] : 1;
      // COCO keeps ignored detections in the cumulative arrays (as neither tp nor fp).
      const o = outcome[base + j];
      for (let r = 0; r < w; r++) {
        if (o === 1) tp++;
        else if (o === 2) fp++;
        rc[kept] = tp / npig;
        pr[kept] = tp / (fp + tp + eps);
        kept++;
      }
    }
    recall[t] = nd > 0 ? rc[nd - 1] : 0;
    for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
    const q = precision[t];
    q.fill(0);
    // np.searchsorted(rc, recThrs, side='left'); points past the end keep precision 0.
    let j = 0;
    for (let r = 0; r < RECALL_THRESHOLDS.length; r++) {
      while (j < nd && rc[j] < RECALL_THRESHOLDS[r]) j++;
      if (j >= nd) break;
      q[r] = pr[j];
    }
  }
  return { precision, recall };
}

/** Mean over the entries > -1 (COCOeval.summarize), -1 when there are none. */
function meanDefined(values: Iterable<number>): number {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (v > -1) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? -1 : sum / n;
}

/** AP averaged over IoU thresholds (or at one) and recall points, from accumulations of several categories. */
export function averagePrecision(accumulated: readonly Accumulated[], iouThreshold?: number): number {
  const t = iouThreshold === undefined ? null : thresholdIndex(iouThreshold);
  return meanDefined(
    (function* () {
      for (const a of accumulated) {
        for (let i = 0; i < a.precision.length; i++) if (t === null || i === t) yield* a.precision[i];
      }
    })(),
  );
}

/** AR averaged over IoU thresholds (or at one). */
export function averageRecall(accumulated: readonly Accumulated[], iouThreshold?: number): number {
  const t = iouThreshold === undefined ? null : thresholdIndex(iouThreshold);
  return meanDefined(
    (function* () {
      for (const a of accumulated) for (let i = 0; i < a.recall.length; i++) if (t === null || i === t) yield a.recall[i];
    })(),
  );
}

function thresholdIndex(iou: number): number {
  const i = IOU_THRESHOLDS.findIndex((t) => Math.abs(t - iou) < 1e-12);
  if (i < 0) throw new Error(`IoU threshold ${iou} is not one of COCO's (${IOU_THRESHOLDS.join(', ')})`);
  return i;
}

/** COCOeval.stats under COCO's names. */
export interface CocoSummary {
  AP: number;
  AP50: number;
  AP75: number;
  APs: number;
  APm: number;
  APl: number;
  AR1: number;
  AR10: number;
  AR100: number;
  ARs: number;
  ARm: number;
  ARl: number;
}

export const COCO_SUMMARY_NAMES: readonly (keyof CocoSummary)[] = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'];

export interface CocoEvalInput {
  /** Image ids evaluated (COCO: every image of the ground truth). */
  imageIds: readonly number[];
  /** Category ids evaluated (COCO: every category of the ground truth). */
  categoryIds: readonly number[];
  groundTruth: readonly GroundTruth[];
  detections: readonly Detection[];
  iouType?: IouType;
}

/** Ground truth and detections per (image, category). */
export function groupByImageAndCategory<T extends { image_id: number; category_id: number }>(items: readonly T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const key = `${item.image_id}/${item.category_id}`;
    const list = map.get(key);
    if (list) list.push(item);
    else map.set(key, [item]);
  }
  return map;
}

/** The 12 COCOeval summary numbers (useCats = 1, default parameters). */
export function cocoEvaluate(input: CocoEvalInput): CocoSummary {
  const imageIds = [...new Set(input.imageIds)].sort((a, b) => a - b);
  const categoryIds = [...new Set(input.categoryIds)].sort((a, b) => a - b);
  const gtBy = groupByImageAndCategory(input.groundTruth);
  const dtBy = groupByImageAndCategory(input.detections);
  const maxAll = MAX_DETS[MAX_DETS.length - 1];
  const results = new Map<string, Accumulated[]>();
  for (const [areaName, areaRange] of Object.entries(AREA_RANGES)) {
    const perCategory = categoryIds.map((c) =>
      imageIds.map((i) => {
        const key = `${i}/${c}`;
        // computeIoU keeps the top maxDets[-1] detections; evaluateImg then cuts at maxDets.
        const dts = orderByScore((dtBy.get(key) ?? []).map((d) => d.score))
          .slice(0, maxAll)
          .map((k) => (dtBy.get(key) as Detection[])[k]);
        return evaluateImage(gtBy.get(key) ?? [], dts, { areaRange, maxDets: maxAll, iouType: input.iouType });
      }),
    );
    for (const maxDets of MAX_DETS) {
      results.set(`${areaName}/${maxDets}`, perCategory.map((evaluations) => accumulate(evaluations, maxDets)));
    }
  }
  const at = (area: string, maxDets: number) => results.get(`${area}/${maxDets}`) as Accumulated[];
  return {
    AP: averagePrecision(at('all', 100)),
    AP50: averagePrecision(at('all', 100), 0.5),
    AP75: averagePrecision(at('all', 100), 0.75),
    APs: averagePrecision(at('small', 100)),
    APm: averagePrecision(at('medium', 100)),
    APl: averagePrecision(at('large', 100)),
    AR1: averageRecall(at('all', 1)),
    AR10: averageRecall(at('all', 10)),
    AR100: averageRecall(at('all', 100)),
    ARs: averageRecall(at('small', 100)),
    ARm: averageRecall(at('medium', 100)),
    ARl: averageRecall(at('large', 100)),
  };
}
