import { describe, expect, it } from 'vitest';
import { accumulate, boxIou, cocoEvaluate, evaluateImage, IOU_THRESHOLDS, type Box, type Detection, type GroundTruth } from '../../src/bias/metrics/coco.js';
import { countsFromString, countsToString, decodeCounts, encodeCounts, maskArea, masksIou, polygonCounts, polygonsToMask } from '../../src/bias/metrics/masks.js';

let nextId = 1;
function gt(image: number, bbox: Box, extra: Partial<GroundTruth> = {}): GroundTruth {
  return { id: nextId++, image_id: image, category_id: 1, bbox, area: bbox[2] * bbox[3], iscrowd: false, ...extra };
}
function dt(image: number, bbox: Box, score: number, category = 1): Detection {
  return { image_id: image, category_id: category, bbox, score, area: bbox[2] * bbox[3] };
}
function evaluate(groundTruth: GroundTruth[], detections: Detection[], images = [1], categories = [1]) {
  return cocoEvaluate({ imageIds: images, categoryIds: categories, groundTruth, detections });
}

describe('COCO evaluation (COCOeval semantics, hand-computed cases)', () => {
  it('one perfect detection: AP = AR = 1, area ranges without ground truth are -1', () => {
    const s = evaluate([gt(1, [0, 0, 10, 10])], [dt(1, [0, 0, 10, 10], 0.9)]);
    const expected = { AP: 1, AP50: 1, AP75: 1, APs: 1, APm: -1, APl: -1, AR1: 1, AR10: 1, AR100: 1, ARs: 1, ARm: -1, ARl: -1 };
    // precision is tp / (tp + fp + eps) as in COCOeval, so a perfect AP is 1 - 2.2e-16
    for (const [name, value] of Object.entries(expected)) expect(s[name as keyof typeof s], name).toBeCloseTo(value, 12);
  });

  it('a higher-scored false positive halves precision at full recall (101-point interpolation)', () => {
    const s = evaluate([gt(1, [0, 0, 10, 10])], [dt(1, [50, 50, 10, 10], 0.9), dt(1, [0, 0, 10, 10], 0.8)]);
    expect(s.AP).toBeCloseTo(0.5, 12);
    // maxDets 1 keeps only the false positive.
    expect(s.AR1).toBe(0);
    expect(s.AR10).toBeCloseTo(1, 12);
  });

  it('precision is interpolated as the running maximum from the right and sampled at 101 recall points', () => {
    // 2 ground truths; detections in score order: TP, FP, TP -> rc [.5, .5, 1], pr [1, .5, .667]
    const s = evaluate(
      [gt(1, [0, 0, 10, 10]), gt(1, [100, 100, 10, 10])],
      [dt(1, [0, 0, 10, 10], 0.9), dt(1, [50, 50, 10, 10], 0.8), dt(1, [100, 100, 10, 10], 0.7)],
    );
    // recall points 0..0.5 (51 of them) get 1, 0.51..1 (50) get 2/3.
    expect(s.AP).toBeCloseTo((51 * 1 + 50 * (2 / 3)) / 101, 12);
  });

  it('IoU thresholds: a detection with IoU 0.72 counts at .50-.70 only', () => {
    const s = evaluate([gt(1, [0, 0, 10, 10])], [dt(1, [0, 0, 10, 7.2], 0.9)]);
    expect(boxIou([0, 0, 10, 7.2], [0, 0, 10, 10], false)).toBeCloseTo(0.72, 12);
    expect(s.AP50).toBeCloseTo(1, 12);
    expect(s.AP75).toBe(0);
    expect(s.AP).toBeCloseTo(0.5, 12);
    expect(s.AR100).toBeCloseTo(0.5, 12);
  });

  it('crowd regions absorb any number of detections (ignored, neither TP nor FP) and use intersection over detection area', () => {
    const groundTruth = [gt(1, [0, 0, 100, 100], { iscrowd: true }), gt(1, [200, 200, 10, 10])];
    const detections = [dt(1, [10, 10, 20, 20], 0.95), dt(1, [40, 40, 20, 20], 0.9), dt(1, [200, 200, 10, 10], 0.7)];
    expect(boxIou([10, 10, 20, 20], [0, 0, 100, 100], true)).toBe(1);
    expect(evaluate(groundTruth, detections).AP).toBeCloseTo(1, 12);
    // The same boxes without iscrowd: both detections in the region are false positives (IoU .04)
    // ranked above the one true positive, which reaches recall 1/2 at precision 1/3.
    const notCrowd = [gt(1, [0, 0, 100, 100]), gt(1, [200, 200, 10, 10])];
    expect(evaluate(notCrowd, detections).AP50).toBeCloseTo((51 * (1 / 3)) / 101, 12);
  });

  it('area ranges use the annotation area; out-of-range ground truth is ignored and so are unmatched out-of-range detections', () => {
    // A 50×50 box whose annotated (mask) area is 2000: medium, not large.
    const groundTruth = [gt(1, [0, 0, 50, 50], { area: 2000 })];
    const s = evaluate(groundTruth, [dt(1, [0, 0, 50, 50], 0.9), dt(1, [300, 300, 5, 5], 0.8)]);
    expect(s.APm).toBeCloseTo(1, 12); // the small false positive is out of the medium range: ignored
    expect(s.APs).toBe(-1); // no small ground truth
    expect(s.APl).toBe(-1);
    expect(s.AP).toBeCloseTo(1, 12); // the false positive has the lowest score: precision 1 up to full recall
  });

  it('maxDets: 12 people, 12 exact detections -> AR1 = 1/12, AR10 = 10/12, AR100 = 1', () => {
    const boxes: Box[] = Array.from({ length: 12 }, (_, i) => [i * 20, 0, 10, 10]);
    const s = evaluate(
      boxes.map((b) => gt(1, b)),
      boxes.map((b, i) => dt(1, b, 1 - i / 100)),
    );
    expect(s.AR1).toBeCloseTo(1 / 12, 12);
    expect(s.AR10).toBeCloseTo(10 / 12, 12);
    expect(s.AR100).toBeCloseTo(1, 12);
  });

  it('greedy matching by score: the top detection takes the best-IoU ground truth, a later one cannot take it again', () => {
    const groundTruth = [gt(1, [0, 0, 10, 10]), gt(1, [4, 0, 10, 10])];
    // Both detections overlap both people; the first matches the second person (IoU 1), the second the first (IoU .43 < .5: no match at .5).
    const e = evaluateImage(groundTruth, [dt(1, [4, 0, 10, 10], 0.9), dt(1, [3, 0, 10, 10], 0.8)], { areaRange: [0, 1e10], maxDets: 100 });
    expect(e).not.toBeNull();
    expect(Array.from(e!.dtMatched[0])).toEqual([1, 1]);
    expect(Array.from(e!.gtMatched[0])).toEqual([1, 1]);
    // at IoU .75 the second detection (IoU with person 1 = 0.7/1.3) finds nothing
    const t75 = IOU_THRESHOLDS.findIndex((t) => Math.abs(t - 0.75) < 1e-9);
    expect(Array.from(e!.dtMatched[t75])).toEqual([1, 0]);
  });

  it('categories without ground truth are left out of the averages, and images with neither are skipped', () => {
    const s = evaluate([gt(1, [0, 0, 10, 10])], [dt(1, [0, 0, 10, 10], 0.9), dt(2, [0, 0, 10, 10], 0.9, 2)], [1, 2, 3], [1, 2]);
    expect(s.AP).toBeCloseTo(1, 12);
  });

  it('extra ignored ground truth (the persons of other groups) makes detections on them neither TP nor FP', () => {
    const groundTruth = [gt(1, [0, 0, 10, 10]), gt(1, [100, 0, 10, 10])];
    const detections = [dt(1, [100, 0, 10, 10], 0.9), dt(1, [0, 0, 10, 10], 0.8)];
    const options = { areaRange: [0, 1e10] as [number, number], maxDets: 100 };
    const plain = accumulate([evaluateImage(groundTruth, detections, options)], 100);
    const groupOnly = accumulate([evaluateImage(groundTruth, detections, { ...options, ignore: (i) => i === 1 })], 100);
    expect(plain.recall[0]).toBe(1);
    expect(groupOnly.recall[0]).toBe(1);
    expect(groupOnly.precision[0].every((p) => Math.abs(p - 1) < 1e-12)).toBe(true);
  });

  it('image weights repeat images (bootstrap): weight 2 on every image leaves AP unchanged, weight 0 drops an image', () => {
    const options = { areaRange: [0, 1e10] as [number, number], maxDets: 100 };
    const a = evaluateImage([gt(1, [0, 0, 10, 10])], [dt(1, [0, 0, 10, 10], 0.9)], options);
    const b = evaluateImage([gt(2, [0, 0, 10, 10])], [dt(2, [50, 50, 10, 10], 0.95)], options);
    const both = accumulate([a, b], 100);
    const doubled = accumulate([a, b], 100, [2, 2]);
    expect(Array.from(doubled.precision[0])).toEqual(Array.from(both.precision[0]));
    expect(accumulate([a, b], 100, [1, 0]).recall[0]).toBe(1);
    expect(both.recall[0]).toBe(0.5);
  });
});

describe('COCO segm evaluation', () => {
  it('uses mask IoU (and mask area for the area ranges) instead of boxes', () => {
    const square = polygonsToMask([[0, 0, 10, 0, 10, 10, 0, 10]], 40, 40);
    const half = polygonsToMask([[0, 0, 10, 0, 10, 5, 0, 5]], 40, 40);
    const g: GroundTruth = { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: false, mask: square };
    // the detection's box matches exactly but its mask covers half: IoU 0.5
    const d: Detection = { image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9, area: 50, mask: half };
    const s = cocoEvaluate({ imageIds: [1], categoryIds: [1], groundTruth: [g], detections: [d], iouType: 'segm' });
    expect(s.AP50).toBeCloseTo(1, 12);
    expect(s.AP75).toBe(0);
    expect(cocoEvaluate({ imageIds: [1], categoryIds: [1], groundTruth: [g], detections: [d] }).AP75).toBeCloseTo(1, 12);
  });
});

describe('COCO masks', () => {
  it('compressed RLE strings round-trip and decode to the same mask as the counts', () => {
    const counts = [5, 3, 40, 2, 0, 0, 50];
    const total = counts.reduce((a, b) => a + b, 0);
    expect(countsFromString(countsToString(counts))).toEqual(counts);
    const mask = decodeCounts(counts, 10, total / 10);
    expect(maskArea(mask)).toBe(5);
    expect(decodeCounts(encodeCounts(mask), 10, total / 10).data).toEqual(mask.data);
  });

  it('rleFrPoly: an integer rectangle polygon covers exactly its pixels', () => {
    const mask = decodeCounts(polygonCounts([2, 3, 12, 3, 12, 8, 2, 8], 20, 20), 20, 20);
    expect(maskArea(mask)).toBe(50);
    // column-major: pixel (x=2, y=3) is set, (x=12, y=3) is not
    expect(mask.data[2 * 20 + 3]).toBe(1);
    expect(mask.data[12 * 20 + 3]).toBe(0);
  });

  it('mask IoU, crowd IoU over the detection area, and polygon unions', () => {
    const a = polygonsToMask([[0, 0, 10, 0, 10, 10, 0, 10]], 20, 20);
    const b = polygonsToMask([[5, 0, 15, 0, 15, 10, 5, 10]], 20, 20);
    expect(masksIou(a, b, false)).toBeCloseTo(50 / 150, 12);
    expect(masksIou(a, b, true)).toBeCloseTo(0.5, 12);
    expect(maskArea(polygonsToMask([[0, 0, 10, 0, 10, 10, 0, 10], [5, 0, 15, 0, 15, 10, 5, 10]], 20, 20))).toBe(150);
  });
});
