/**
 * `vigil bias --detections ... --annotations ... --sensitive ...` (bring your own detections) and
 * its input errors, through the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'vigil-detect-cli-'));

function vigil(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
}

/** 60 images, one person each: lighter ones always detected, darker ones every other time. */
function files(): { annotations: string; detections: string } {
  const images = Array.from({ length: 60 }, (_, i) => ({ id: i + 1, file_name: `${i}.jpg`, width: 100, height: 100 }));
  const annotations = images.map((image, i) => ({
    id: i + 1,
    image_id: image.id,
    category_id: 1,
    bbox: [10, 10, 30, 60],
    area: 1800,
    iscrowd: 0,
    attributes: { skin_tone: i % 2 === 0 ? 'lighter' : 'darker' },
  }));
  const detections = annotations.filter((_, i) => i % 2 === 0 || i % 4 === 1).map((a) => ({ image_id: a.image_id, category_id: 1, bbox: [11, 11, 30, 60], score: 0.9 }));
  const annotationsPath = join(dir, 'instances.json');
  const detectionsPath = join(dir, 'results.json');
  writeFileSync(annotationsPath, JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'person' }] }));
  writeFileSync(detectionsPath, JSON.stringify(detections));
  return { annotations: annotationsPath, detections: detectionsPath };
}

describe('vigil bias --detections', () => {
  it('audits COCO results against COCO instances with attributes, no model and no spec', () => {
    const { annotations, detections } = files();
    const run = vigil(['bias', '--detections', detections, '--annotations', annotations, '--sensitive', 'skin_tone', '--n-boot', '200', '--threshold', 'recall_difference <= 0.1', '--json']);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout);
    const feature = result.audits[0].features[0];
    expect(result.audits[0].kind).toBe('detection');
    expect(feature.by_group.lighter.recall.value).toBe(1);
    expect(feature.by_group.darker.recall.value).toBe(0.5);
    expect(feature.disparities.recall_difference.value).toBe(0.5);
    expect(result.audits[0].coco.AP50).toBeGreaterThan(0);
    expect(result.verdicts[0].status).toBe('fail');
    expect(run.status).toBe(1);
  }, 60_000);

  it('a bad results file exits 2 naming the file, the entry and what was expected', () => {
    const { annotations } = files();
    const bad = join(dir, 'bad-results.json');
    writeFileSync(bad, JSON.stringify([{ image_id: 999, category_id: 1, bbox: [0, 0, 1, 1], score: 0.5 }]));
    const run = vigil(['bias', '--detections', bad, '--annotations', annotations, '--sensitive', 'skin_tone', '--json']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('bad-results.json is not a valid COCO results file');
    expect(run.stderr).toContain('[0].image_id: expected the id of an image of the ground truth');
    expect(run.stdout).toBe('');
  }, 60_000);

  it('--detections needs --annotations and --sensitive', () => {
    const { detections } = files();
    const run = vigil(['bias', '--detections', detections, '--sensitive', 'skin_tone']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--annotations');
  }, 60_000);
});
