/**
 * Example misses per flagged group: the detection audit records, per group, a seeded sample of
 * images with a missed person (missed and found boxes, false positives), and the report draws them
 * on the images (sharp, SVG overlay) only with --include-examples, within its image budget.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { auditDetection, type DetectionInput } from '../../src/bias/audits/detection.js';
import type { AuditSettings } from '../../src/bias/audits/common.js';
import type { BiasResult } from '../../src/bias/result.js';
import { renderReport } from '../../src/report/render.js';
import { renderModelCard } from '../../src/report/model-card.js';
import { loadSpec } from '../../src/bias/spec.js';
import { runBias } from '../../src/bias/run.js';
import { parse } from 'yaml';
import { detectionExamples } from '../../src/report/modules/detection-examples.js';

let plantedRun: Promise<BiasResult> | undefined;
/** The bundled planted detection spec, run once for this file with few bootstrap replicates. */
function planted(): Promise<BiasResult> {
  plantedRun ??= (async () => {
    const loaded = await loadSpec(join(import.meta.dirname, '..', '..', 'audits', 'detection.yaml'));
    loaded.spec.n_boot = 100;
    return (await runBias(loaded, { quiet: true, cacheDir: false })).result as BiasResult;
  })();
  return plantedRun;
}

const settings = { seed: 3, nBoot: 50, ciLevel: 0.95, minGroupSize: 1, nPermutations: 50, alpha: 0.05, sensitive: ['skin_tone'], intersections: [] } as unknown as AuditSettings;
const parameters = { id: 'detection', category: 'person', iou: 0.5, score_threshold: 0.5, max_dets: 100 };

/**
 * Image 1: a darker person missed (a detection beside it is a false positive) and a lighter one
 * found; image 2: a darker person found; image 3: a lighter person missed.
 */
function input(imagesDir?: string): DetectionInput {
  const person = (id: number, image_id: number, bbox: [number, number, number, number], tone: string) => ({ id, image_id, category_id: 1, bbox, area: bbox[2] * bbox[3], iscrowd: false, attributes: { skin_tone: tone } });
  return {
    groundTruth: {
      path: 'gt.json',
      sha256: 'x',
      format: 'coco',
      images: [1, 2, 3].map((id) => ({ id, file_name: `${id}.png`, width: 100, height: 50 })),
      categories: [{ id: 1, name: 'person' }],
      annotations: [person(1, 1, [10, 10, 20, 30], 'darker'), person(2, 1, [60, 10, 20, 30], 'lighter'), person(3, 2, [10, 10, 20, 30], 'darker'), person(4, 3, [40, 5, 20, 30], 'lighter')],
    },
    detections: [
      { image_id: 1, category_id: 1, bbox: [61, 10, 20, 30], score: 0.9, area: 600 },
      { image_id: 1, category_id: 1, bbox: [35, 20, 10, 10], score: 0.8, area: 100 },
      // Below the score threshold: neither a hit nor a false positive for recall.
      { image_id: 1, category_id: 1, bbox: [10, 10, 20, 30], score: 0.2, area: 600 },
      { image_id: 2, category_id: 1, bbox: [10, 11, 20, 30], score: 0.7, area: 600 },
    ],
    source: { kind: 'file', path: 'results.json', sha256: 'y' },
    failures: [],
    inference: null,
    ...(imagesDir ? { imagesDir } : {}),
  };
}

describe('detection examples', () => {
  it('records, per group, the images with a missed person: missed and found boxes and the false positives', () => {
    const { result } = auditDetection(input('/data/images'), parameters, settings);
    expect(result.examples.images_dir).toBe('/data/images');
    const darker = result.examples.groups.find((g) => g.group === 'darker')!;
    expect(darker.n_images).toBe(1);
    expect(darker.images).toEqual([{ file: '1.png', width: 100, height: 50, missed: [[10, 10, 20, 30]], found: [], false_positives: [{ bbox: [35, 20, 10, 10], score: 0.8 }] }]);
    const lighter = result.examples.groups.find((g) => g.group === 'lighter')!;
    expect(lighter.images.map((i) => [i.file, i.missed, i.found])).toEqual([['3.png', [[40, 5, 20, 30]], []]]);
    expect(auditDetection(input(), parameters, settings).result.examples.images_dir).toBeNull();
  });

  it('draws the flagged groups\' misses on the images (red missed box) and never reaches outside the images folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-det-examples-'));
    try {
      for (const name of ['1.png', '2.png', '3.png']) await sharp({ create: { width: 100, height: 50, channels: 3, background: '#808080' } }).png().toFile(join(dir, name));
      const { result: audit } = auditDetection(input(dir), parameters, settings);
      const result = { audits: [audit] } as unknown as BiasResult;
      const context = { includeExamples: true, maxImages: 24, seed: 0, visuals: true };
      const examples = await detectionExamples(result, new Map([['skin_tone', new Set(['darker'])]]), context);
      expect(examples.groups.map((g) => g.group)).toEqual(['darker']);
      const [image] = examples.groups[0].images;
      expect(image.file).toBe('1.png: 1 missed (red), 1 false positive (orange)');
      // 100×50 drawn at 256×128: the missed box's left edge at x = 10·2.56 ≈ 26, y from 26 to 102.
      const { data, info } = await sharp(Buffer.from(image.dataUri.split(',')[1], 'base64')).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([256, 128]);
      const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
      const [r, g, b] = at(26, 60);
      expect(r).toBeGreaterThan(170);
      expect(g).toBeLessThan(100);
      expect(b).toBeLessThan(100);
      expect(at(200, 110).every((v) => Math.abs(v - 128) < 12)).toBe(true);
      // A results document naming a file outside its images folder draws nothing.
      audit.examples.groups.find((x) => x.group === 'darker')!.images[0].file = '../../etc/passwd.png';
      expect((await detectionExamples(result, new Map([['skin_tone', new Set(['darker'])]]), context)).groups).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says why nothing is drawn when the audit had no images folder', async () => {
    const { result: audit } = auditDetection(input(), parameters, settings);
    const examples = await detectionExamples({ audits: [audit] } as unknown as BiasResult, new Map([['skin_tone', new Set(['darker'])]]), { includeExamples: true, maxImages: 24, seed: 0, visuals: true });
    expect(examples.groups).toEqual([]);
    expect(examples.note).toMatch(/no images folder/);
  });

  it('embeds drawn examples in the HTML report only with --include-examples', async () => {
    const result = await planted();
    const withExamples = await renderReport(result, { includeExamples: true });
    const section = withExamples.slice(withExamples.indexOf('id="examples"'));
    expect(section).toMatch(/<h3>skin_tone = darker<\/h3>/);
    expect(section).toMatch(/missed \(red\)/);
    expect(section).toMatch(/src="data:image\/jpeg;base64,/);
    const without = await renderReport(result, {});
    const plain = without.slice(without.indexOf('id="examples"'));
    expect(plain).not.toMatch(/data:image\/jpeg/);
    expect(plain).toMatch(/--include-examples/);
  });
});

describe('model card of a detection audit', () => {
  it('gives per-group recall and AP50 with intervals, and the recall gap, in model-index form', async () => {
    const result = await planted();
    const card = renderModelCard(result, { modelName: 'tiny-detector' });
    const front = parse(card.split('---')[1]) as { 'model-index': { name: string; results: { task: { type: string }; dataset: Record<string, string>; metrics: { type: string; value: number; name: string; args: Record<string, unknown> }[] }[] }[] };
    const [entry] = front['model-index'][0].results;
    expect(entry.task.type).toBe('object-detection');
    expect(entry.dataset).toMatchObject({ type: 'vigil-annotations/coco', name: 'instances.json' });
    expect(entry.dataset.revision).toMatch(/^[0-9a-f]{64}$/);
    const feature = result.audits[0].features.find((f) => f.attribute === 'skin_tone')!;
    const darker = feature.by_group.darker as unknown as Record<string, { value: number; ci: [number, number] }>;
    const recall = entry.metrics.find((m) => m.type === 'recall' && m.args.group === 'darker')!;
    expect(recall.value).toBeCloseTo(darker.recall.value, 4);
    expect(recall.args).toMatchObject({ sensitive_feature: 'skin_tone', iou: 0.5, ci_level: 0.95 });
    expect(recall.args.ci_low).toBeCloseTo(darker.recall.ci[0], 4);
    expect(recall.args.ci_high).toBeCloseTo(darker.recall.ci[1], 4);
    const ap50 = entry.metrics.find((m) => m.type === 'ap50' && m.args.group === 'lighter')!;
    expect(ap50.value).toBeCloseTo((feature.by_group.lighter as unknown as Record<string, { value: number }>).ap50.value, 4);
    const gap = entry.metrics.find((m) => m.type === 'recall_difference' && m.args.sensitive_feature === 'skin_tone')!;
    expect(gap.value).toBeGreaterThan(0.3);
    expect(gap.args.ci_low as number).toBeGreaterThan(0);
    // The card's table shows the detection metrics per group.
    expect(card).toMatch(/Recall/);
    expect(card).toMatch(/AP50/);
  });
});
