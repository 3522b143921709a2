import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCocoInstances, readCocoResults } from '../../src/probes/coco.js';
import { readFacetAnnotations } from '../../src/probes/facet.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-detect-loaders-'));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
const images = [{ id: 1, file_name: 'a.png', width: 20, height: 10 }];
const categories = [{ id: 1, name: 'person' }];
const person = { id: 5, image_id: 1, category_id: 1, bbox: [1, 1, 5, 5], area: 25, iscrowd: 0, attributes: { skin_tone: 'darker', age_group: 'older' } };

describe('COCO instances and results', () => {
  it('reads boxes, attributes, polygon and RLE masks', async () => {
    const gt = await readCocoInstances(
      file('ok.json', { images, categories, annotations: [{ ...person, segmentation: [[1, 1, 6, 1, 6, 6, 1, 6]] }, { ...person, id: 6, segmentation: { size: [10, 20], counts: [10, 5, 185] } }] }),
      { required: ['skin_tone'], masks: true },
    );
    expect(gt.annotations).toHaveLength(2);
    expect(gt.annotations[0].attributes).toEqual({ skin_tone: 'darker', age_group: 'older' });
    expect(gt.annotations[1].mask?.data.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('lists every problem with its JSON path, what was expected and what was received', async () => {
    const bad = {
      images: [...images, { id: 1, file_name: 'b.png', width: 20, height: 10 }],
      categories,
      annotations: [
        { ...person, bbox: [1, 1, -5, 5] },
        { ...person, id: 7, image_id: 9 },
        { ...person, id: 8, attributes: { age_group: 'older' } },
        { ...person, id: 9, area: 'big' },
      ],
    };
    const error = await readCocoInstances(file('bad.json', bad), { required: ['skin_tone'] }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('bad.json is not a valid COCO instances file (5 problems)');
    expect(message).toContain('images[1].id: duplicate image id 1');
    expect(message).toContain('annotations[0].bbox: expected [x, y, width, height]');
    expect(message).toContain('annotations[1].image_id: expected the id of an image in images but received 9');
    expect(message).toContain('annotations[2].attributes.skin_tone: missing');
    expect(message).toContain('annotations[3].area: expected a non-negative number');
  });

  it('results must name images and categories of the ground truth (as pycocotools loadRes asserts)', async () => {
    const gt = await readCocoInstances(file('gt.json', { images, categories, annotations: [person] }));
    const ok = await readCocoResults(file('res.json', [{ image_id: 1, category_id: 1, bbox: [1, 1, 4, 5], score: 0.9 }, { file_name: 'a.png', category_id: 1, bbox: [0, 0, 2, 2], score: 0.1 }]), gt);
    expect(ok.detections.map((d) => d.area)).toEqual([20, 4]);
    const error = await readCocoResults(file('res-bad.json', [{ image_id: 2, category_id: 1, bbox: [1, 1, 4, 5], score: 0.9 }, { image_id: 1, category_id: 1, bbox: [1, 1, 4, 5], score: 'high' }]), gt).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/\[0\]\.image_id: expected the id of an image of the ground truth .* but received 2/);
    expect((error as Error).message).toContain('[1].score: expected a finite number but received "high"');
  });
});

describe('FACET annotations', () => {
  const header = 'person_id,filename,class1,skin_tone_1,skin_tone_2,skin_tone_3,skin_tone_4,skin_tone_5,skin_tone_6,skin_tone_7,skin_tone_8,skin_tone_9,skin_tone_10,skin_tone_na,age_presentation_young,age_presentation_middle,age_presentation_older,age_presentation_na,bounding_box';
  const box = '"{""x"": 1, ""y"": 2, ""width"": 3, ""height"": 4}"';
  it('reduces multi-annotator votes: Monk bins by majority, ties "mixed", no votes "na"', async () => {
    const csv = [
      header,
      `1,a.jpg,guitarist,0,2,1,0,0,0,0,0,0,0,0,0,1,0,0,${box}`, // 3 votes lighter
      `2,a.jpg,doctor,0,0,0,0,0,1,1,1,0,0,0,1,0,0,0,${box}`, // medium 1, darker 2
      `3,b.jpg,doctor,1,0,0,0,0,0,1,0,0,0,0,0,0,1,0,${box}`, // lighter 1 vs darker 1: mixed
      `4,b.jpg,doctor,0,0,0,0,0,0,0,0,0,0,3,0,0,0,1,${box}`, // only na
    ].join('\n');
    const gt = await readFacetAnnotations(file('facet.csv', csv), ['skin_tone', 'age_presentation']);
    expect(gt.annotations.map((a) => a.attributes.skin_tone)).toEqual(['lighter', 'darker', 'mixed', 'na']);
    expect(gt.annotations.map((a) => a.attributes.age_presentation)).toEqual(['middle', 'young', 'older', 'na']);
    expect(gt.images.map((i) => i.file_name)).toEqual(['a.jpg', 'b.jpg']);
    expect(gt.annotations[0]).toMatchObject({ image_id: 1, bbox: [1, 2, 3, 4], area: 12, category_id: 1 });
  });

  it('names the line and column of every bad value', async () => {
    const csv = [header, `1,a.jpg,x,0,2,1,0,0,0,0,0,0,-1,0,0,1,0,0,${box}`, `1,a.jpg,x,0,2,1,0,0,0,0,0,0,0,0,0,1,0,0,${box}`, `3,a.jpg,x,0,2,1,0,0,0,0,0,0,0,0,0,1,0,0,notjson`].join('\n');
    const error = await readFacetAnnotations(file('facet-bad.csv', csv), ['skin_tone']).catch((e: Error) => e);
    const message = (error as Error).message;
    expect(message).toContain('line 2, skin_tone_10: expected a vote count');
    expect(message).toContain('line 3, person_id: duplicate person_id 1');
    expect(message).toContain('line 4, bounding_box: expected JSON');
  });
});
