/**
 * FACET's "any annotator" membership: a person counts in every skin-tone group any annotator
 * chose (groups overlap), beside the default majority rule. Hand-computed case.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditDetection, detectionKind } from '../../src/bias/audits/detection.js';
import type { AuditSettings } from '../../src/bias/audits/common.js';
import type { InstanceGroupMetrics } from '../../src/bias/metrics/instances.js';
import { readFacetAnnotations } from '../../src/probes/facet.js';
import { loadSpec } from '../../src/bias/spec.js';
import { runBias } from '../../src/bias/run.js';

const settings = { seed: 1, nBoot: 50, ciLevel: 0.95, minGroupSize: 1, nPermutations: 50, alpha: 0.05, sensitive: ['skin_tone'], intersections: [] } as unknown as AuditSettings;
const base = { id: 'detection', category: 'person', iou: 0.5, score_threshold: 0.5, max_dets: 100 };
const header = 'person_id,filename,class1,skin_tone_1,skin_tone_2,skin_tone_3,skin_tone_4,skin_tone_5,skin_tone_6,skin_tone_7,skin_tone_8,skin_tone_9,skin_tone_10,skin_tone_na,bounding_box';
const box = '"{""x"": 10, ""y"": 10, ""width"": 20, ""height"": 40}"';

/**
 * One person per image. P1 lighter (found); P2 two votes lighter, one darker (majority lighter;
 * any: lighter and darker; missed); P3 darker (missed); P4 darker (found).
 */
async function facet() {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-facet-any-'));
  const csv = [
    header,
    `1,1.jpg,x,1,0,0,0,0,0,0,0,0,0,0,${box}`,
    `2,2.jpg,x,0,2,0,0,0,0,0,1,0,0,0,${box}`,
    `3,3.jpg,x,0,0,0,0,0,0,0,0,1,0,0,${box}`,
    `4,4.jpg,x,0,0,0,0,0,0,0,0,0,1,0,${box}`,
  ].join('\n');
  writeFileSync(join(dir, 'facet.csv'), csv);
  try {
    return await readFacetAnnotations(join(dir, 'facet.csv'), ['skin_tone']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('FACET membership', () => {
  it('any annotator: a person is in every group an annotator chose; majority: in one', async () => {
    const groundTruth = await facet();
    expect(groundTruth.annotations.map((a) => a.memberships?.skin_tone)).toEqual([['lighter'], ['darker', 'lighter'], ['darker'], ['darker']]);
    const detections = [1, 4].map((image_id) => ({ image_id, category_id: 1, bbox: [10, 10, 20, 40] as [number, number, number, number], score: 0.9, area: 800 }));
    const input = { groundTruth, detections, source: { kind: 'file' as const, path: 'r.json', sha256: 'x' }, failures: [], inference: null };
    const majority = auditDetection(input, base, settings).result.features[0];
    const any = auditDetection(input, { ...base, membership: 'any' }, settings).result.features[0];
    const g = (f: typeof any, name: string) => f.by_group[name] as InstanceGroupMetrics;
    expect([g(majority, 'lighter').count, g(majority, 'darker').count]).toEqual([2, 2]);
    expect(g(majority, 'darker').recall?.value).toBeCloseTo(0.5, 12);
    // Any: darker = {P2 missed, P3 missed, P4 found} = 1/3; lighter = {P1 found, P2 missed} = 1/2.
    expect([g(any, 'lighter').count, g(any, 'darker').count]).toEqual([2, 3]);
    expect(g(any, 'darker').recall?.value).toBeCloseTo(1 / 3, 12);
    expect(g(any, 'lighter').recall?.value).toBeCloseTo(0.5, 12);
    expect(any.disparities.recall_difference.value).toBeCloseTo(0.5 - 1 / 3, 12);
    expect(any.disparities.recall_difference.groups).toEqual(['lighter', 'darker']);
    // Overall counts each person once; comparisons that assume one group per person are left out.
    expect(any.overall.count).toBe(4);
    expect((any.overall as InstanceGroupMetrics).recall?.value).toBeCloseTo(0.5, 12);
    expect(Object.keys(any.disparities).some((k) => k.includes('_to_overall'))).toBe(false);
    expect(any.tests).toEqual([]);
  });

  it('rejects "any" without per-annotator votes (COCO instances), naming the file and the attribute', async () => {
    const groundTruth = await facet();
    for (const a of groundTruth.annotations) delete a.memberships;
    const input = { groundTruth, detections: [], source: { kind: 'file' as const, path: 'r.json', sha256: 'x' }, failures: [], inference: null };
    expect(() => auditDetection(input, { ...base, membership: 'any' }, settings)).toThrow(/facet\.csv: membership "any" needs each annotator's choices .*"skin_tone"/);
  });

  it('is a spec option of detection audits (default majority)', () => {
    const entry = detectionKind.parameters.parse({ kind: 'detection', annotations: 'a.csv', detections: 'r.json' });
    expect((entry as { membership?: string }).membership).toBe('majority');
    expect(detectionKind.parameters.safeParse({ kind: 'detection', annotations: 'a.csv', detections: 'r.json', membership: 'some' }).success).toBe(false);
  });

  it('runs from the bundled spec (annotators agree there, so the groups equal the majority run\'s)', async () => {
    const run = async (name: string) => {
      const loaded = await loadSpec(join(import.meta.dirname, '..', '..', 'audits', name));
      loaded.spec.n_boot = 50;
      return (await runBias(loaded, { quiet: true, cacheDir: false })).result.audits[0].features.find((f) => f.attribute === 'skin_tone')!;
    };
    const [any, majority] = await Promise.all([run('detection-facet-any.yaml'), run('detection-facet.yaml')]);
    expect(Object.keys(any.by_group)).toEqual(Object.keys(majority.by_group));
    for (const group of Object.keys(any.by_group)) {
      expect(any.by_group[group].count).toBe(majority.by_group[group].count);
      expect((any.by_group[group] as InstanceGroupMetrics).recall?.value).toBeCloseTo((majority.by_group[group] as InstanceGroupMetrics).recall?.value as number, 12);
    }
    expect(any.disparities.recall_difference.ci[0]).toBeGreaterThan(0);
  });
});
