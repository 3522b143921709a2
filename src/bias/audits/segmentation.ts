/**
 * `segmentation`: how well a semantic segmenter covers the annotated persons of each perceived
 * group: per-instance mask IoU (the annotated mask against the model's pixels of the class inside
 * the instance's box) and its mean per group and intersection, with intervals that resample
 * images and a Holm-corrected permutation test of the group means.
 */
import { z } from 'zod';
import { VigilInputError } from '../../core/errors.js';
import { readCocoInstances } from '../../probes/coco.js';
import { segmentProbeImages, type SegmentedInstance } from '../../detect/probe.js';
import { attributeFeature, intersectionFeature } from '../metrics/features.js';
import { disaggregateInstances } from '../metrics/instances.js';
import { noProgress } from '../context.js';
import type { AuditResult } from '../result.js';
import { auditResult, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import type { FailedImage } from './inputs.js';
import { auditId, defineAuditKind, nonEmpty } from './kind.js';

export const meta: AuditMeta = {
  kind: 'segmentation',
  title: 'Segmentation quality by group (mask IoU)',
  description:
    'Per perceived group and intersection: mean mask IoU of the annotated instances (annotated mask against the segmenter\'s pixels of the class inside the instance box), with intervals that resample images and a Holm-corrected permutation test.',
};

export interface SegmentationInput {
  instances: SegmentedInstance[];
  /** Images segmented (those without instances still count in the image resampling). */
  nImages: number;
  annotations: { path: string; sha256: string };
  model: { path: string; sha256: string };
  failures: FailedImage[];
  inference: AuditResult['inference'];
}

export interface SegmentationParameters {
  id: string;
  class: string;
}

/** Pure: per-group mean mask IoU with image-bootstrap intervals. */
export function auditSegmentation(input: SegmentationInput, parameters: SegmentationParameters, settings: AuditSettings): { result: AuditResult; observations: Observation[] } {
  const { instances } = input;
  if (instances.length === 0) throw new VigilInputError(`${input.annotations.path}: no annotated ${parameters.class} instance was segmented`, { subject: input.annotations.path });
  const imageIndex = new Map<number, number>();
  for (const i of instances) if (!imageIndex.has(i.image_id)) imageIndex.set(i.image_id, imageIndex.size);
  const column = (name: string) => instances.map((i) => {
    const value = i.attributes[name] ?? '';
    if (value === '') throw new VigilInputError(`${input.annotations.path}: annotation ${i.annotation} has no attribute ${JSON.stringify(name)}`, { subject: input.annotations.path });
    return value;
  });
  const features = [...settings.sensitive.map((name) => attributeFeature(name, column(name))), ...settings.intersections.map((combo) => intersectionFeature(combo, combo.map(column)))];
  const progress = (settings.progress ?? noProgress)(`${parameters.id}: bootstrap over images`, settings.nBoot);
  let result;
  try {
    result = disaggregateInstances(
      {
        nImages: Math.max(input.nImages, imageIndex.size),
        image: Int32Array.from(instances, (i) => imageIndex.get(i.image_id) as number),
        features,
        maskIou: Float64Array.from(instances, (i) => i.iou),
      },
      { seed: settings.seed, nBoot: settings.nBoot, minGroupSize: settings.minGroupSize, ciLevel: settings.ciLevel, alpha: settings.alpha, nPermutations: settings.nPermutations, onReplicate: () => progress.increment() },
    );
  } finally {
    progress.stop();
  }
  const observations: Observation[] = instances.map((i) => ({ file: i.file, sha256: null, attributes: i.attributes, values: { mask_iou: i.iou }, scores: {} }));
  return {
    result: auditResult(meta, { ...parameters, annotations: input.annotations, model: input.model }, { disclosure: { labels: [parameters.class] }, observations, features: result, failures: input.failures, inference: input.inference }),
    observations,
  };
}

const entrySchema = z.strictObject({
  kind: z.literal('segmentation'),
  id: auditId,
  annotations: nonEmpty.describe('COCO instances JSON with a segmentation (polygons or RLE) and an "attributes" object on every instance, relative to the spec. Example: planted/instances.json.'),
  images: nonEmpty.describe('Folder of the annotated images (file_name is relative to it). Example: planted/images.'),
  model: nonEmpty.describe('Semantic segmenter folder (Segformer/DPT ONNX export), relative to the spec. Example: models/segmenter.'),
  class: nonEmpty.default('person').describe('Class audited: a segmenter label and a ground-truth category name. Example: person.'),
});

export const segmentationKind = defineAuditKind({
  ...meta,
  requires: { models: [], probeSet: false, groundTruth: false },
  parameters: entrySchema,
  async observe(entry, ctx): Promise<SegmentationInput> {
    const gt = await readCocoInstances(ctx.path(entry.annotations), { required: [...ctx.sensitive], categories: [entry.class], masks: true });
    const run = await segmentProbeImages(gt, ctx.path(entry.model), ctx.path(entry.images), entry.class, { cacheDir: ctx.cacheDir, progress: ctx.progress, label: `${entry.id ?? entry.kind}: segmenting` });
    return { instances: run.instances, nImages: run.nImages, annotations: { path: gt.path, sha256: gt.sha256 }, model: run.source, failures: run.failures, inference: run.inference };
  },
  audit(observed, entry, settings) {
    return auditSegmentation(observed, { id: entry.id, class: entry.class }, settings);
  },
  notes(result) {
    return [`${result.id}: a semantic segmenter does not separate instances; each instance is scored on the class pixels inside its annotated box. Intervals resample images; the permutation test treats instances as exchangeable.`];
  },
});
