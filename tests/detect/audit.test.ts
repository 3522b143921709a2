/**
 * The detection audit on ground truth and detections built here (no model): a planted recall gap
 * between groups is recovered with an interval excluding zero; a control set with none shows none.
 */
import { describe, expect, it } from 'vitest';
import { auditDetection, buildDetectionTable, type DetectionInput } from '../../src/bias/audits/detection.js';
import type { AuditSettings } from '../../src/bias/audits/common.js';
import { SeededRandom } from '../../src/core/random.js';
import type { Detection } from '../../src/bias/metrics/coco.js';
import type { AnnotatedInstance, CocoGroundTruth } from '../../src/probes/coco.js';
import type { InstanceGroupMetrics } from '../../src/bias/metrics/instances.js';

const settings = { seed: 7, nBoot: 200, ciLevel: 0.95, minGroupSize: 10, nPermutations: 200, alpha: 0.05, sensitive: ['skin_tone'], intersections: [] } as unknown as AuditSettings;
const parameters = { id: 'detection', category: 'person', iou: 0.5, score_threshold: 0.5, max_dets: 100 };

/** 150 images with 1-2 persons; each person is found with its group's probability. */
function scenes(found: Record<string, number>, seed: number): DetectionInput {
  const rng = new SeededRandom(seed);
  const annotations: AnnotatedInstance[] = [];
  const detections: Detection[] = [];
  const images = Array.from({ length: 150 }, (_, i) => ({ id: i + 1, file_name: `${i}.png`, width: 200, height: 100 }));
  let id = 1;
  for (const image of images) {
    const n = 1 + rng.int(2);
    for (let p = 0; p < n; p++) {
      const tone = rng.next() < 0.5 ? 'lighter' : 'darker';
      const bbox: [number, number, number, number] = [p * 100 + 10, 10, 40, 80];
      annotations.push({ id: id++, image_id: image.id, category_id: 1, bbox, area: 3200, iscrowd: false, attributes: { skin_tone: tone } });
      if (rng.next() < found[tone]) detections.push({ image_id: image.id, category_id: 1, bbox: [bbox[0] + 2, 12, 40, 78], score: 0.6 + 0.4 * rng.next(), area: 3120 });
    }
    if (rng.next() < 0.1) detections.push({ image_id: image.id, category_id: 1, bbox: [150, 50, 20, 20], score: 0.7, area: 400 });
  }
  const groundTruth: CocoGroundTruth = { path: 'scenes.json', sha256: 'x', format: 'coco', images, categories: [{ id: 1, name: 'person' }], annotations };
  return { groundTruth, detections, source: { kind: 'file', path: 'results.json', sha256: 'y' }, failures: [], inference: null };
}

describe('detection audit', () => {
  it('recovers a planted recall gap (0.95 vs 0.55) with an interval excluding zero and a significant test', () => {
    const { result } = auditDetection(scenes({ lighter: 0.95, darker: 0.55 }, 1), parameters, settings);
    const f = result.features[0];
    const group = (name: string) => f.by_group[name] as InstanceGroupMetrics;
    const gap = f.disparities.recall_difference;
    expect(gap.groups).toEqual(['lighter', 'darker']);
    expect(gap.value).toBeGreaterThan(0.25);
    expect(gap.ci[0]).toBeGreaterThan(0);
    expect(group('darker').recall?.value).toBeLessThan(group('lighter').recall?.value as number);
    expect(group('darker').miss_rate?.value).toBeCloseTo(1 - (group('darker').recall?.value as number), 12);
    expect(f.tests.find((t) => t.metric === 'recall')?.significant).toBe(true);
    // AP per group follows recall here (every detection is a hit or the shared false positive)
    expect(group('darker').ap50?.value).toBeLessThan(group('lighter').ap50?.value as number);
    expect(result.coco.AP50).toBeGreaterThan(0);
  });

  it("shows no gap on a control set (same detection probability for both groups): the gap's interval includes zero", () => {
    const { result } = auditDetection(scenes({ lighter: 0.8, darker: 0.8 }, 2), parameters, settings);
    const gap = result.features[0].disparities.recall_difference;
    expect(gap.ci[0]).toBeLessThan(0);
    expect(gap.ci[1]).toBeGreaterThan(0);
    expect(result.features[0].tests.find((t) => t.metric === 'recall')?.significant).toBe(false);
  });

  it('counts a person as found only with a detection at IoU >= iou and score >= score_threshold; crowd regions are not persons', () => {
    const input = scenes({ lighter: 1, darker: 1 }, 3);
    const all = buildDetectionTable(input, parameters, settings).table;
    expect(Array.from(all.detected as Uint8Array).every((d) => d === 1)).toBe(true);
    const strict = buildDetectionTable(input, { ...parameters, score_threshold: 0.99 }, settings).table;
    expect(Array.from(strict.detected as Uint8Array).filter((d) => d === 1).length).toBeLessThan(all.image.length / 2);
    const crowd = { ...input, groundTruth: { ...input.groundTruth, annotations: input.groundTruth.annotations.map((a, i) => (i === 0 ? { ...a, iscrowd: true } : a)) } };
    expect(buildDetectionTable(crowd, parameters, settings).table.image.length).toBe(all.image.length - 1);
  });

  it('the point estimate does not depend on the bootstrap seed; the interval does', () => {
    const input = scenes({ lighter: 0.9, darker: 0.6 }, 4);
    const a = auditDetection(input, parameters, settings).result.features[0].disparities.recall_difference;
    const b = auditDetection(input, parameters, { ...settings, seed: 99 }).result.features[0].disparities.recall_difference;
    expect(a.value).toBe(b.value);
    expect(a.ci).not.toEqual(b.ci);
  });

  it('resamples images, not persons: two persons per image found or missed together widen the interval by about √2', () => {
    const rng = new SeededRandom(5);
    const images = Array.from({ length: 200 }, (_, i) => ({ id: i + 1, file_name: `${i}.png`, width: 200, height: 100 }));
    const annotations: AnnotatedInstance[] = [];
    const detections: Detection[] = [];
    for (const image of images) {
      const tone = image.id % 2 === 0 ? 'lighter' : 'darker';
      const found = rng.next() < 0.5;
      for (const x of [10, 110]) {
        annotations.push({ id: annotations.length + 1, image_id: image.id, category_id: 1, bbox: [x, 10, 40, 80], area: 3200, iscrowd: false, attributes: { skin_tone: tone } });
        if (found) detections.push({ image_id: image.id, category_id: 1, bbox: [x, 10, 40, 80], score: 0.9, area: 3200 });
      }
    }
    const groundTruth: CocoGroundTruth = { path: 'pairs.json', sha256: 'x', format: 'coco', images, categories: [{ id: 1, name: 'person' }], annotations };
    const input: DetectionInput = { groundTruth, detections, source: { kind: 'file', path: 'r.json', sha256: 'y' }, failures: [], inference: null };
    const { result } = auditDetection(input, parameters, { ...settings, nBoot: 600 } as AuditSettings);
    const recall = (result.features[0].by_group.lighter as InstanceGroupMetrics).recall!;
    const p = recall.value as number;
    const persons = 200; // 100 images × 2 persons of the group
    const personLevelWidth = 2 * 1.96 * Math.sqrt((p * (1 - p)) / persons);
    const width = (recall.ci[1] as number) - (recall.ci[0] as number);
    expect(width / personLevelWidth).toBeGreaterThan(1.2);
    expect(width / personLevelWidth).toBeLessThan(1.7);
  });
});

