/**
 * The detection and segmentation audit kinds run from the bundled specs on the bundled fixtures
 * (tiny models, synthetic scenes): the planted skin-tone disparity is recovered with an interval
 * excluding zero, the control set shows none, the FACET-style spec audits detections made
 * elsewhere, and the segmentation audit runs.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBias } from '../../src/bias/run.js';
import { loadSpec } from '../../src/bias/spec.js';
import type { InstanceGroupMetrics } from '../../src/bias/metrics/instances.js';

const AUDITS = join(import.meta.dirname, '..', '..', 'audits');

async function run(spec: string, nBoot = 200) {
  const loaded = await loadSpec(join(AUDITS, spec));
  loaded.spec.n_boot = nBoot;
  return (await runBias(loaded, { quiet: true, cacheDir: false })).result;
}

describe('detection specs on the bundled fixtures', () => {
  it('planted: darker figures are found less often, the gap interval excludes zero, the check fails', async () => {
    const result = await run('detection.yaml');
    const tone = result.audits[0].features.find((f) => f.attribute === 'skin_tone');
    expect(tone).toBeDefined();
    const gap = tone!.disparities.recall_difference;
    expect(gap.groups).toEqual(['lighter', 'darker']);
    expect(gap.ci[0]).toBeGreaterThan(0);
    expect((tone!.by_group.darker as InstanceGroupMetrics).recall?.value).toBeLessThan((tone!.by_group.lighter as InstanceGroupMetrics).recall?.value as number);
    expect(tone!.tests.find((t) => t.metric === 'recall')?.significant).toBe(true);
    expect(result.verdicts.find((v) => v.metric === 'recall_difference')?.status).toBe('fail');
    expect((result.audits[0] as unknown as { coco: Record<string, number> }).coco.AP50).toBeGreaterThan(0.5);
  }, 120_000);

  it('control: no recall gap (its interval includes zero, the test is not significant)', async () => {
    const result = await run('detection-control.yaml');
    const tone = result.audits[0].features.find((f) => f.attribute === 'skin_tone');
    const gap = tone!.disparities.recall_difference;
    expect(gap.ci[0]).toBeLessThanOrEqual(0);
    expect(gap.ci[1]).toBeGreaterThanOrEqual(0);
    expect(tone!.tests.find((t) => t.metric === 'recall')?.significant).toBe(false);
  }, 120_000);

  it('FACET-style: Monk-scale votes and bring-your-own detections give the planted gap too', async () => {
    const result = await run('detection-facet.yaml');
    const tone = result.audits[0].features.find((f) => f.attribute === 'skin_tone');
    expect(tone!.groups.map((g) => g.name)).toEqual(['darker', 'lighter']);
    expect(tone!.disparities.recall_difference.ci[0]).toBeGreaterThan(0);
    expect(result.audits[0].inference).toBeNull();
  }, 120_000);

  it('segmentation: mean mask IoU per group with intervals', async () => {
    const result = await run('segmentation.yaml', 100);
    const tone = result.audits[0].features.find((f) => f.attribute === 'skin_tone');
    for (const group of ['lighter', 'darker']) {
      const iou = tone!.by_group[group].mean_mask_iou;
      expect(iou.value).toBeGreaterThan(0);
      expect(iou.value).toBeLessThanOrEqual(1);
      expect(iou.ci[0]).toBeLessThanOrEqual(iou.value as number);
    }
  }, 120_000);
});
