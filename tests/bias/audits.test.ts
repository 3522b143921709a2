import { describe, expect, it } from 'vitest';
import { auditAssociation, observeAssociation } from '../../src/bias/audits/association.js';
import { ensemble, expandPrompts, zeroShotIndex } from '../../src/bias/audits/clip.js';
import type { AuditSettings } from '../../src/bias/audits/common.js';
import { defaultPositive } from '../../src/bias/audits/common.js';
import { observeRetrieval } from '../../src/bias/audits/retrieval.js';
import { observeZeroShot } from '../../src/bias/audits/zero-shot.js';
import type { EmbeddedImage } from '../../src/bias/audits/inputs.js';
import type { ProbeRow } from '../../src/probes/index.js';

const settings: AuditSettings = {
  seed: 0,
  nBoot: 200,
  ciLevel: 0.95,
  minGroupSize: 2,
  nPermutations: 500,
  alpha: 0.05,
  sensitive: ['g'],
  intersections: [],
};

function image(file: string, g: string, embedding: number[]): EmbeddedImage {
  const row = { line: null, file, path: file, sha256: file, fields: { g }, attributes: { g } } as ProbeRow;
  return { row, embedding: Float32Array.from(embedding) };
}

describe('CLIP arithmetic', () => {
  it('expands prompts label-major', () => {
    expect(expandPrompts(['cat', 'dog'], ['a {label}', 'the {label} and {label}'])).toEqual(['a cat', 'the cat and cat', 'a dog', 'the dog and dog']);
  });

  it('ensembles templates as the normalised mean', () => {
    const [label] = ensemble([Float32Array.from([1, 0]), Float32Array.from([0, 1])], 1, 2);
    expect(label[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(label[1]).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('zero-shot picks the most similar label and retrieval scores are cosines', () => {
    const labels = [Float32Array.from([1, 0]), Float32Array.from([0, 1])];
    expect(zeroShotIndex(Float32Array.from([0.2, 0.9]), labels)).toBe(1);
    const images = [image('a', 'x', [1, 0]), image('b', 'y', [0, 1])];
    expect(observeZeroShot(images, ['left', 'up'], ['{label}'], labels).map((o) => o.prediction)).toEqual(['left', 'up']);
    const scores = observeRetrieval(images, ['left'], ['{label}'], [labels[0]]).map((o) => o.scores.left);
    expect(scores[0]).toBeCloseTo(1, 6);
    expect(scores[1]).toBeCloseTo(0, 6);
  });

  it('detects the positive label of binary label sets only', () => {
    expect(defaultPositive(['0', '1'])).toEqual(['1']);
    expect(defaultPositive(['No', 'Yes'])).toEqual(['Yes']);
    expect(defaultPositive(['cat', 'dog'])).toBeUndefined();
    expect(defaultPositive(['0', '1', '2'])).toBeUndefined();
  });
});

describe('association audit', () => {
  it('finds X closer to A and gives the effect an interval', () => {
    const images = [
      ...Array.from({ length: 6 }, (_, i) => image(`x${i}`, 'x', [1, 0.1 * i])),
      ...Array.from({ length: 6 }, (_, i) => image(`y${i}`, 'y', [0.1 * i, 1])),
    ];
    const observations = observeAssociation(images, [Float32Array.from([1, 0])], [Float32Array.from([0, 1])]);
    const result = auditAssociation(observations, { id: 'assoc', attribute: 'g', x_group: 'x', y_group: 'y', concepts: { a: ['A'], b: ['B'] } }, settings, [], null);
    const [association] = result.associations ?? [];
    expect(association).toMatchObject({ x_group: 'x', y_group: 'y', a_concept: 'a', b_concept: 'b', n_x: 6, n_y: 6 });
    expect(association.effect_size.value).toBeGreaterThan(1.5);
    expect(association.effect_size.ci[0]).toBeGreaterThan(1);
    // 1 / C(12, 6) = 1/924: the observed split is the most extreme of all.
    expect(association.p_value).toBeLessThan(0.01);
    expect(result.features[0].by_group.x.mean_association?.value).toBeGreaterThan(0.5);
  });

  it('names a group with too few images', () => {
    const observations = observeAssociation([image('x', 'x', [1, 0]), image('y', 'y', [0, 1]), image('y2', 'y', [0, 1])], [Float32Array.from([1, 0])], [Float32Array.from([0, 1])]);
    expect(() => auditAssociation(observations, { id: 'assoc', attribute: 'g', x_group: 'x', y_group: 'y', concepts: { a: ['A'], b: ['B'] } }, settings, [], null)).toThrow(
      /group "x" of g has 1 image\(s\)/,
    );
  });
});
