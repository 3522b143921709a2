/**
 * The observe step of the detection and segmentation audits: the annotated images (resolved
 * inside the images folder; no absolute paths, no `..`, no symlinks out) through the model.
 * Images that cannot be processed are recorded as failures and left out together with their
 * annotations, so a broken file never counts as missed persons.
 */
import { realpath } from 'node:fs/promises';
import { errorMessage, VigilInputError } from '../core/errors.js';
import type { ProgressFactory } from '../bias/context.js';
import type { FailedImage } from '../bias/audits/inputs.js';
import type { Detection } from '../bias/metrics/coco.js';
import { masksIou, maskFromLabels } from '../bias/metrics/masks.js';
import type { AuditResult } from '../bias/result.js';
import type { CocoGroundTruth, CocoImage } from '../probes/coco.js';
import { resolveInside } from '../probes/validate.js';
import { detectObjects, segmentImages } from './infer.js';
import { loadDenseModel, type DenseModel, type DenseModelKind } from './model.js';

export interface ProbeRunOptions {
  cacheDir: string | false | undefined;
  progress: ProgressFactory;
  label: string;
  /** Detections scoring at or below this are not kept (AP needs low scores too; COCO submissions use 0.05). */
  threshold?: number;
}

/** Ground-truth images resolved inside the folder; the rest become failures. */
async function resolveImages(gt: CocoGroundTruth, imagesDir: string): Promise<{ paths: Map<number, string>; failures: FailedImage[] }> {
  let realRoot: string;
  try {
    realRoot = await realpath(imagesDir);
  } catch (error) {
    throw new VigilInputError(`Images folder ${imagesDir} cannot be read: ${errorMessage(error)}`, { subject: imagesDir });
  }
  const paths = new Map<number, string>();
  const failures: FailedImage[] = [];
  for (const image of gt.images) {
    const found = await resolveInside(realRoot, imagesDir, image.file_name);
    if ('problem' in found) failures.push({ file: image.file_name, error: `${image.file_name}: ${found.problem}` });
    else paths.set(image.id, found.path);
  }
  return { paths, failures };
}

/** The ground truth without the images that failed (and their annotations). */
function withoutFailed(gt: CocoGroundTruth, kept: Set<number>): CocoGroundTruth {
  return { ...gt, images: gt.images.filter((i) => kept.has(i.id)), annotations: gt.annotations.filter((a) => kept.has(a.image_id)) };
}

async function withModel<T>(dir: string, kind: DenseModelKind, run: (model: DenseModel) => Promise<T>): Promise<T> {
  const model = await loadDenseModel(dir, { expected: kind });
  try {
    return await run(model);
  } finally {
    await model.release();
  }
}

/** Detections of the model on every annotated image, as COCO results of the ground truth's categories. */
export async function detectProbeImages(
  gt: CocoGroundTruth,
  modelDir: string,
  imagesDir: string,
  options: ProbeRunOptions,
): Promise<{ groundTruth: CocoGroundTruth; detections: Detection[]; source: { kind: 'model'; path: string; sha256: string }; failures: FailedImage[]; inference: AuditResult['inference'] }> {
  return withModel(modelDir, 'detection', async (model) => {
    const { paths, failures } = await resolveImages(gt, imagesDir);
    const images = gt.images.filter((i) => paths.has(i.id));
    const byPath = new Map<string, CocoImage>(images.map((i) => [paths.get(i.id) as string, i]));
    const category = new Map(gt.categories.map((c) => [c.name, c.id]));
    const detections: Detection[] = [];
    const kept = new Set<number>();
    const progress = options.progress(options.label, images.length);
    try {
      const stream = detectObjects(model, images.map((i) => paths.get(i.id) as string), { threshold: options.threshold ?? 0.05, cacheDir: options.cacheDir, onImage: () => progress.increment() });
      for await (const obs of stream) {
        const image = byPath.get(obs.file);
        if (!image) continue;
        if ('error' in obs && obs.error !== undefined) {
          failures.push({ file: image.file_name, error: obs.error });
          continue;
        }
        if (!('objects' in obs)) continue;
        kept.add(image.id);
        for (const o of obs.objects) {
          const id = category.get(o.label);
          if (id === undefined) continue;
          const bbox: [number, number, number, number] = [o.box.xmin, o.box.ymin, o.box.xmax - o.box.xmin, o.box.ymax - o.box.ymin];
          detections.push({ image_id: image.id, category_id: id, bbox, score: o.score, area: bbox[2] * bbox[3] });
        }
      }
    } finally {
      progress.stop();
    }
    return {
      groundTruth: withoutFailed(gt, kept),
      detections,
      source: { kind: 'model', path: model.dir, sha256: model.sha256 },
      failures,
      inference: { images_inferred: model.stats.imagesInferred, cache_hits: model.stats.cacheHits },
    };
  });
}

export interface SegmentedInstance {
  annotation: number;
  image_id: number;
  file: string;
  attributes: Record<string, string>;
  /** IoU of the annotated mask with the model's pixels of the class inside the annotated box. */
  iou: number;
}

/**
 * Per annotated instance of `className`: IoU between its ground-truth mask and the pixels the
 * segmenter gives that class within the instance's box (a semantic segmenter does not separate
 * instances; the box keeps other persons' pixels out of this one's score).
 */
export async function segmentProbeImages(
  gt: CocoGroundTruth,
  modelDir: string,
  imagesDir: string,
  className: string,
  options: ProbeRunOptions,
): Promise<{ instances: SegmentedInstance[]; nImages: number; source: { path: string; sha256: string }; failures: FailedImage[]; inference: AuditResult['inference'] }> {
  return withModel(modelDir, 'segmentation', async (model) => {
    const classIndex = model.labels.indexOf(className);
    if (classIndex < 0) throw new VigilInputError(`Segmenter ${modelDir} has no class ${JSON.stringify(className)} (classes: ${model.labels.join(', ')})`, { subject: modelDir });
    const category = gt.categories.find((c) => c.name === className);
    if (!category) throw new VigilInputError(`${gt.path}: no category named ${JSON.stringify(className)}`, { subject: gt.path });
    const { paths, failures } = await resolveImages(gt, imagesDir);
    const images = gt.images.filter((i) => paths.has(i.id));
    const byPath = new Map<string, CocoImage>(images.map((i) => [paths.get(i.id) as string, i]));
    const byImage = new Map<number, typeof gt.annotations>();
    for (const a of gt.annotations) {
      if (a.category_id !== category.id || a.iscrowd) continue;
      if (!a.mask) throw new VigilInputError(`${gt.path}: annotation ${a.id} has no segmentation (the segmentation audit needs a mask on every instance)`, { subject: gt.path });
      byImage.set(a.image_id, [...(byImage.get(a.image_id) ?? []), a]);
    }
    const instances: SegmentedInstance[] = [];
    let nImages = 0;
    const progress = options.progress(options.label, images.length);
    try {
      for await (const obs of segmentImages(model, images.map((i) => paths.get(i.id) as string), { cacheDir: options.cacheDir, onImage: () => progress.increment() })) {
        const image = byPath.get(obs.file);
        if (!image) continue;
        if ('error' in obs && obs.error !== undefined) {
          failures.push({ file: image.file_name, error: obs.error });
          continue;
        }
        if (!('labels' in obs)) continue;
        if (obs.width !== image.width || obs.height !== image.height) {
          failures.push({ file: image.file_name, error: `${image.file_name}: the image is ${obs.width}×${obs.height} but the annotations say ${image.width}×${image.height}` });
          continue;
        }
        nImages++;
        for (const a of byImage.get(image.id) ?? []) {
          const [x, y, w, h] = a.bbox;
          const x0 = Math.max(0, Math.floor(x));
          const y0 = Math.max(0, Math.floor(y));
          const x1 = Math.min(obs.width, Math.ceil(x + w));
          const y1 = Math.min(obs.height, Math.ceil(y + h));
          const predicted = maskFromLabels(obs.labels, obs.height, obs.width, () => false);
          for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) if (obs.labels[yy * obs.width + xx] === classIndex) predicted.data[xx * obs.height + yy] = 1;
          instances.push({ annotation: a.id, image_id: image.id, file: image.file_name, attributes: a.attributes, iou: masksIou(predicted, a.mask as NonNullable<typeof a.mask>, false) });
        }
      }
    } finally {
      progress.stop();
    }
    return { instances, nImages, source: { path: model.dir, sha256: model.sha256 }, failures, inference: { images_inferred: model.stats.imagesInferred, cache_hits: model.stats.cacheHits } };
  });
}
