/**
 * `association`: image-text embedding association test (WEAT form, iEAT style): are images of group
 * X closer to concept set A (and images of group Y to B) than the other way round? Effect size with
 * a bootstrap interval and a permutation p-value; per-group mean association s(w) with intervals.
 */
import { z } from 'zod';
import { SeededRandom } from '../../core/random.js';
import { embedTexts } from '../../vision/index.js';
import { VigilInputError } from '../../core/errors.js';
import { associationScores, associationTest, effectSizeFromScores } from '../metrics/association.js';
import { bcaInterval, holmAdjust, jackknifeAcceleration } from '../metrics/stats.js';
import type { AssociationResult, AuditResult } from '../result.js';
import { analyze, auditResult, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import type { EmbeddedImage, FailedImage } from './inputs.js';
import { auditId, defineAuditKind, nonEmpty, promptNote, stringList } from './kind.js';

export const meta: AuditMeta = {
  kind: 'association',
  title: 'Image-text association test (WEAT / iEAT)',
  description:
    'Effect size and permutation p-value of the differential association of two groups’ images with two concept prompt sets, plus each group’s mean association s(w) = mean cos(w, A) − mean cos(w, B).',
};

export interface AssociationParameters {
  id: string;
  attribute: string;
  x_group: string;
  y_group: string;
  /** Two named prompt sets, A first. */
  concepts: Record<string, string[]>;
}

/** s(w, A, B) for every image (pure). */
export function observeAssociation(images: readonly EmbeddedImage[], conceptA: readonly Float32Array[], conceptB: readonly Float32Array[]): Observation[] {
  const scores = associationScores(
    images.map((i) => i.embedding),
    conceptA,
    conceptB,
  );
  return images.map(({ row }, i) => ({ file: row.file, sha256: row.sha256, attributes: row.attributes, values: { association: scores[i] }, scores: {} }));
}

/** Effect size with a stratified bootstrap interval (X and Y resampled separately). */
export function associationWithInterval(scores: Float64Array, nX: number, settings: AuditSettings): { test: ReturnType<typeof associationTest>; ci: [number, number] } {
  const test = associationTest(scores, nX, settings.nPermutations, settings.seed);
  const nY = scores.length - nX;
  const rng = new SeededRandom(settings.seed + 1);
  const replicates = new Float64Array(settings.nBoot);
  const sample = new Float64Array(scores.length);
  for (let b = 0; b < settings.nBoot; b++) {
    for (let i = 0; i < nX; i++) sample[i] = scores[rng.int(nX)];
    for (let i = 0; i < nY; i++) sample[nX + i] = scores[nX + rng.int(nY)];
    replicates[b] = effectSizeFromScores(sample, nX);
  }
  if (settings.nBoot === 0) return { test, ci: [Number.NaN, Number.NaN] };
  // Delete-a-block jackknife (X and Y rows dealt round-robin into blocks) for the BCa acceleration.
  const blocks = Math.min(20, nX, nY);
  const jackknife = new Float64Array(blocks);
  for (let j = 0; j < blocks; j++) {
    const keptX = [...scores.subarray(0, nX)].filter((_, i) => i % blocks !== j);
    const keptY = [...scores.subarray(nX)].filter((_, i) => i % blocks !== j);
    jackknife[j] = effectSizeFromScores(Float64Array.from([...keptX, ...keptY]), keptX.length);
  }
  const ci = bcaInterval(test.effect_size, replicates, 0, 1, settings.nBoot, settings.ciLevel, jackknifeAcceleration(jackknife, 0, 1, blocks));
  return { test, ci };
}

export function auditAssociation(
  observations: readonly Observation[],
  parameters: AssociationParameters,
  settings: AuditSettings,
  failures: FailedImage[],
  inference: AuditResult['inference'],
): AuditResult {
  const [aName, bName] = Object.keys(parameters.concepts);
  const x = observations.filter((o) => o.attributes[parameters.attribute] === parameters.x_group);
  const y = observations.filter((o) => o.attributes[parameters.attribute] === parameters.y_group);
  for (const [group, rows] of [
    [parameters.x_group, x],
    [parameters.y_group, y],
  ] as const) {
    if (rows.length < 2) {
      throw new VigilInputError(`Association audit ${parameters.id}: group "${group}" of ${parameters.attribute} has ${rows.length} image(s); at least 2 are needed`);
    }
  }
  const scores = Float64Array.from([...x, ...y], (o) => o.values.association);
  const { test, ci } = associationWithInterval(scores, x.length, settings);
  const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const association: AssociationResult = {
    attribute: parameters.attribute,
    x_group: parameters.x_group,
    y_group: parameters.y_group,
    a_concept: aName,
    b_concept: bName,
    n_x: x.length,
    n_y: y.length,
    effect_size: { value: finite(test.effect_size), ci: [finite(ci[0]), finite(ci[1])] },
    p_value: test.p_value,
    p_value_holm: holmAdjust([test.p_value])[0],
    n_permutations: test.n_permutations,
  };
  return auditResult(meta, parameters, {
    disclosure: { concepts: parameters.concepts },
    observations,
    features: analyze(observations, settings, { label: parameters.id }),
    associations: [association],
    failures,
    inference,
  });
}

const entrySchema = z.strictObject({
  kind: z.literal('association'),
  id: auditId,
  attribute: nonEmpty.describe('Sensitive attribute whose two groups are the target sets X and Y; one of the spec\'s sensitive. Example: gender.'),
  x_group: nonEmpty.describe('Group of attribute whose images are target set X. Example: female.'),
  y_group: nonEmpty.describe('Group of attribute whose images are target set Y. Example: male.'),
  concepts: z
    .record(nonEmpty, stringList)
    .refine((c) => Object.keys(c).length === 2, 'expected exactly two concept sets (A and B), e.g. {career: ["a photo of an executive"], family: ["a photo of a parent"]}')
    .describe('Exactly two named concept prompt sets, A then B. Example: {career: ["a photo of an executive"], family: ["a photo of a parent at home"]}.'),
});

export const associationKind = defineAuditKind({
  ...meta,
  requires: { models: ['clip'], probeSet: true, groundTruth: false },
  parameters: entrySchema,
  check(entry, spec) {
    return spec.sensitive.includes(entry.attribute)
      ? []
      : [{ field: 'attribute', message: `expected one of sensitive (${spec.sensitive.join(', ')}) but received "${entry.attribute}"` }];
  },
  async observe(entry, ctx) {
    const model = ctx.clip(entry.kind);
    const { images, failures } = await ctx.embeddings(entry.kind);
    const [a, b] = Object.values(entry.concepts);
    return { observations: observeAssociation(images, await embedTexts(model, a), await embedTexts(model, b)), failures };
  },
  audit(observed, entry, settings) {
    const parameters = { id: entry.id, attribute: entry.attribute, x_group: entry.x_group, y_group: entry.y_group, concepts: entry.concepts };
    return { result: auditAssociation(observed.observations, parameters, settings, observed.failures, null), observations: observed.observations };
  },
  notes: promptNote,
});
