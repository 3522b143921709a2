/**
 * `detection`: person-detection quality per perceived group, as FACET measures it. Each annotated
 * person of the audited category is matched with COCO's rules (greedy by score, IoU >= `iou`,
 * maxDets 100, crowd regions ignored) against the detections scoring >= `score_threshold`;
 * per group: recall (FACET's headline metric) and miss rate, AP / AP50 / AP75 (COCO's AP with the
 * other groups' persons ignored, so detections on them are neither hits nor false positives),
 * false positives per image (over the images showing the group); intervals resample images.
 * The detections come from a model folder (a DETR/YOLOS export) or a COCO results file made
 * elsewhere; the whole-set COCO summary (AP ... ARl) is reported beside.
 */
import { z } from 'zod';
import { VigilInputError } from '../../core/errors.js';
import { SeededRandom } from '../../core/random.js';
import { readCocoResults, type AnnotatedInstance, type CocoGroundTruth } from '../../probes/coco.js';
import { readAnnotations } from '../../probes/facet.js';
import { cocoEvaluate, evaluateImage, groupByImageAndCategory, IOU_THRESHOLDS, type CocoSummary, type Detection, type ImageEvaluation } from '../metrics/coco.js';
import { attributeFeature, intersectionFeature, type Feature } from '../metrics/features.js';
import { disaggregateInstances, type InstanceTable } from '../metrics/instances.js';
import { noProgress } from '../context.js';
import type { AuditResult, FeatureResult } from '../result.js';
import { auditResult, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import { detectProbeImages } from '../../detect/probe.js';
import type { FailedImage } from './inputs.js';
import { auditId, defineAuditKind, nonEmpty } from './kind.js';

export const meta: AuditMeta = {
  kind: 'detection',
  title: 'Person detection by group (recall, AP, false positives)',
  description:
    'Per perceived group and intersection: recall and miss rate of annotated persons at an IoU threshold (COCO matching), COCO AP/AP50/AP75 with the other groups ignored, and false positives per image, with intervals that resample images and Holm-corrected tests; plus the COCO summary (AP ... ARl) of the whole set.',
};

export interface DetectionParameters {
  id: string;
  /** Category audited (by name). */
  category: string;
  iou: number;
  score_threshold: number;
  max_dets: number;
  /**
   * How a person with several annotators' choices joins groups: "majority" (one group per person,
   * as the loader reduces the votes) or "any" (FACET's alternative: in every group any annotator
   * chose, for the sensitive attributes with per-annotator votes).
   */
  membership?: 'majority' | 'any';
}

export interface DetectionInput {
  groundTruth: CocoGroundTruth;
  detections: Detection[];
  /** Where the detections came from (a results file's path and hash, or the model). */
  source: { kind: 'file'; path: string; sha256: string } | { kind: 'model'; path: string; sha256: string };
  failures: FailedImage[];
  inference: AuditResult['inference'];
  /** Folder of the annotated images (file_name is relative to it), when known: report examples draw on them. */
  imagesDir?: string;
}

/** A box as COCO writes it: x, y, width, height in pixels of the original image. */
type BoxXywh = [number, number, number, number];

/**
 * Images where persons of a group were missed, for the report's examples (drawn only when it is
 * asked to embed photographs): the group's missed and found persons and the image's false
 * positives (scoring >= score_threshold, unmatched at `iou`).
 */
export interface DetectionExampleGroup {
  attribute: string;
  group: string;
  /** How many images show a missed person of this group (the listed ones are a seeded sample). */
  n_images: number;
  images: { file: string; width: number; height: number; missed: BoxXywh[]; found: BoxXywh[]; false_positives: { bbox: BoxXywh; score: number }[] }[];
}

export interface DetectionExamples {
  /** The images folder as the audit read it, or null when the audit had none (detections made elsewhere, no images). */
  images_dir: string | null;
  groups: DetectionExampleGroup[];
}

/** Images recorded per group for examples: enough for a report's sample, bounded in results.json. */
const EXAMPLE_IMAGES_PER_GROUP = 6;

/** The audit's outcome beside the standard AuditResult fields. */
export interface DetectionAuditResult extends AuditResult {
  /** COCOeval bbox summary over every image and category of the ground truth. */
  coco: CocoSummary;
  examples: DetectionExamples;
}

interface Built {
  table: InstanceTable;
  observations: Observation[];
  /** Where each person is and whether it was found, and each image's false positives (for examples). */
  outcomes: {
    images: { file_name: string; width: number; height: number }[];
    instances: AnnotatedInstance[];
    falsePositives: { bbox: BoxXywh; score: number }[][];
  };
}

/** Per-instance outcomes of the audited category (exported for tests and the segmentation audit). */
export function buildDetectionTable(input: Pick<DetectionInput, 'groundTruth' | 'detections'>, parameters: DetectionParameters, settings: Pick<AuditSettings, 'sensitive' | 'intersections'>): Built {
  const gt = input.groundTruth;
  const category = gt.categories.find((c) => c.name === parameters.category);
  if (!category) throw new VigilInputError(`${gt.path}: no category named ${JSON.stringify(parameters.category)} (categories: ${gt.categories.map((c) => c.name).join(', ')})`, { subject: gt.path });
  const images = [...gt.images].sort((a, b) => a.id - b.id);
  const gtBy = groupByImageAndCategory(gt.annotations.filter((a) => a.category_id === category.id));
  const dtBy = groupByImageAndCategory(input.detections.filter((d) => d.category_id === category.id));
  const perImage = images.map((image) => ({ gts: (gtBy.get(`${image.id}/${category.id}`) ?? []) as AnnotatedInstance[], dts: dtBy.get(`${image.id}/${category.id}`) ?? [] }));
  // Instances: the non-crowd persons, image by image.
  const instanceImage: number[] = [];
  const instances: AnnotatedInstance[] = [];
  const instanceOf = perImage.map(({ gts }, i) =>
    gts.map((g) => {
      if (g.iscrowd) return -1;
      instanceImage.push(i);
      instances.push(g);
      return instances.length - 1;
    }),
  );
  if (instances.length === 0) throw new VigilInputError(`${gt.path}: no (non-crowd) annotation of category ${parameters.category} to audit`, { subject: gt.path });
  const detected = new Uint8Array(instances.length);
  const falsePositives = new Float64Array(images.length);
  const falsePositiveBoxes: { bbox: BoxXywh; score: number }[][] = images.map(() => []);
  const options = { areaRange: [0, 1e10] as [number, number], maxDets: parameters.max_dets, iouThresholds: [parameters.iou] };
  perImage.forEach(({ gts, dts }, i) => {
    const kept = dts.filter((d) => d.score >= parameters.score_threshold);
    const e = evaluateImage(gts, kept, options);
    if (!e) return;
    e.gtOrder.forEach((g, pos) => {
      const k = instanceOf[i][g];
      if (k >= 0) detected[k] = e.gtMatched[0][pos];
    });
    for (let d = 0; d < e.dtScores.length; d++) {
      if (e.dtMatched[0][d] === 0 && e.dtIgnore[0][d] === 0) {
        falsePositives[i]++;
        const dt = kept[e.dtOrder[d]];
        falsePositiveBoxes[i].push({ bbox: [...dt.bbox] as BoxXywh, score: dt.score });
      }
    }
  });
  const column = (name: string) => instances.map((a) => a.attributes[name]);
  for (const name of [...settings.sensitive, ...settings.intersections.flat()]) {
    const missing = instances.findIndex((a) => (a.attributes[name] ?? '') === '');
    if (missing >= 0) throw new VigilInputError(`${gt.path}: annotation ${instances[missing].id} has no attribute ${JSON.stringify(name)}`, { subject: gt.path });
  }
  const features = [
    ...settings.sensitive.map((name) => attributeFeature(name, column(name))),
    ...settings.intersections.map((combo) => intersectionFeature(combo, combo.map(column))),
  ];
  const apEvaluations = (member: Uint8Array | null): (ImageEvaluation | null)[] =>
    perImage.map(({ gts, dts }, i) =>
      evaluateImage(gts, dts, {
        areaRange: [0, 1e10],
        maxDets: parameters.max_dets,
        iouThresholds: IOU_THRESHOLDS,
        ignore: member ? (g) => instanceOf[i][g] < 0 || member[instanceOf[i][g]] === 0 : undefined,
      }),
    );
  const table: InstanceTable = {
    nImages: images.length,
    image: Int32Array.from(instanceImage),
    features,
    detected,
    falsePositives,
    apEvaluations,
    maxDets: parameters.max_dets,
  };
  const observations: Observation[] = instances.map((a, k) => ({
    file: images[instanceImage[k]].file_name,
    sha256: null,
    attributes: a.attributes,
    values: { detected: detected[k] },
    scores: {},
  }));
  return { table, observations, outcomes: { images, instances, falsePositives: falsePositiveBoxes } };
}

/**
 * For every group of every feature: a seeded sample of the images where a person of the group was
 * missed, with the group's missed and found persons and the image's false positives.
 */
export function detectionExamples(built: Pick<Built, 'table' | 'outcomes'>, seed: number, imagesDir: string | null): DetectionExamples {
  const { table, outcomes } = built;
  const groups: DetectionExampleGroup[] = [];
  table.features.forEach((feature: Feature, f) => {
    feature.groups.forEach((group, code) => {
      const byImage = new Map<number, { missed: BoxXywh[]; found: BoxXywh[] }>();
      feature.codes.forEach((c, k) => {
        if (c !== code) return;
        const image = table.image[k];
        const entry = byImage.get(image) ?? { missed: [], found: [] };
        (table.detected?.[k] ? entry.found : entry.missed).push([...outcomes.instances[k].bbox] as BoxXywh);
        byImage.set(image, entry);
      });
      const withMisses = [...byImage.keys()].filter((i) => byImage.get(i)!.missed.length > 0).sort((a, b) => a - b);
      const sample = new SeededRandom(seed + 104729 * (f + 1) + code)
        .shuffle(withMisses)
        .slice(0, EXAMPLE_IMAGES_PER_GROUP)
        .sort((a, b) => a - b);
      groups.push({
        attribute: feature.name,
        group,
        n_images: withMisses.length,
        images: sample.map((i) => ({
          file: outcomes.images[i].file_name,
          width: outcomes.images[i].width,
          height: outcomes.images[i].height,
          ...byImage.get(i)!,
          false_positives: outcomes.falsePositives[i],
        })),
      });
    });
  });
  return { images_dir: imagesDir, groups };
}

/** The disaggregation settings of an audit's run. */
function instanceOptions(settings: AuditSettings) {
  return { seed: settings.seed, nBoot: settings.nBoot, minGroupSize: settings.minGroupSize, ciLevel: settings.ciLevel, alpha: settings.alpha, nPermutations: settings.nPermutations };
}

/**
 * One attribute under "any annotator" membership: each person is a row in every group an annotator
 * chose, so groups overlap. Per-group metrics and the between-group disparities are computed on
 * those rows with the same image bootstrap (a person's rows stay in its image, so the intervals
 * account for the overlap). `overall` stays the majority feature's (each person once); the
 * disparities to overall and the chi-square test, which assume each person in one group, are left out.
 */
function anyAnnotatorFeature(built: Built, name: string, majority: FeatureResult, settings: AuditSettings, path: string): FeatureResult {
  const { table, outcomes } = built;
  const rows: number[] = [];
  const values: string[] = [];
  outcomes.instances.forEach((instance, k) => {
    const chosen = instance.memberships?.[name];
    if (!chosen || chosen.length === 0) {
      throw new VigilInputError(`${path}: membership "any" needs each annotator's choices (a FACET CSV with ${name} vote columns); annotation ${instance.id} has none for ${JSON.stringify(name)}`, { subject: path });
    }
    for (const value of chosen) {
      rows.push(k);
      values.push(value);
    }
  });
  const apEvaluations = table.apEvaluations;
  const detected = table.detected;
  const expanded: InstanceTable = {
    nImages: table.nImages,
    image: Int32Array.from(rows, (k) => table.image[k]),
    features: [attributeFeature(name, values)],
    ...(detected ? { detected: Uint8Array.from(rows, (k) => detected[k]) } : {}),
    ...(table.falsePositives ? { falsePositives: table.falsePositives } : {}),
    ...(apEvaluations
      ? {
          // A person counts as ground truth of a group when any of its rows is in the group.
          apEvaluations: (member: Uint8Array | null) => {
            if (!member) return apEvaluations(null);
            const persons = new Uint8Array(outcomes.instances.length);
            rows.forEach((k, r) => (persons[k] |= member[r]));
            return apEvaluations(persons);
          },
        }
      : {}),
    maxDets: table.maxDets,
  };
  const [feature] = disaggregateInstances(expanded, instanceOptions(settings));
  const disparities = Object.fromEntries(Object.entries(feature.disparities).filter(([key]) => !key.includes('_to_overall')));
  return { ...feature, overall: majority.overall, disparities, tests: [] };
}

/** Pure: the detection audit of ground truth and detections, with the per-person observations. */
export function auditDetection(input: DetectionInput, parameters: DetectionParameters, settings: AuditSettings): { result: DetectionAuditResult; observations: Observation[] } {
  const built = buildDetectionTable(input, parameters, settings);
  const { table, observations } = built;
  const progress = (settings.progress ?? noProgress)(`${parameters.id}: bootstrap over images`, settings.nBoot);
  let features;
  try {
    features = disaggregateInstances(table, { ...instanceOptions(settings), onReplicate: () => progress.increment() });
  } finally {
    progress.stop();
  }
  if (parameters.membership === 'any') {
    for (const name of settings.sensitive) {
      const i = features.findIndex((f) => f.attribute === name);
      if (i >= 0) features[i] = anyAnnotatorFeature(built, name, features[i], settings, input.groundTruth.path);
    }
  }
  const gt = input.groundTruth;
  const coco = cocoEvaluate({
    imageIds: gt.images.map((i) => i.id),
    categoryIds: gt.categories.map((c) => c.id),
    groundTruth: gt.annotations,
    detections: input.detections,
  });
  const result = auditResult(meta, { ...parameters, annotations: { path: gt.path, sha256: gt.sha256, format: gt.format }, detections: input.source }, {
    disclosure: { labels: [parameters.category] },
    observations,
    features,
    failures: input.failures,
    inference: input.inference,
  });
  return { result: { ...result, coco, examples: detectionExamples(built, settings.seed, input.imagesDir ?? null) }, observations };
}

const entrySchema = z.strictObject({
  kind: z.literal('detection'),
  id: auditId,
  annotations: nonEmpty.describe('Ground truth, relative to the spec: COCO instances JSON whose annotations carry an "attributes" object, or a FACET annotations CSV. Example: planted/instances.json.'),
  images: nonEmpty.optional().describe('Folder of the annotated images (file_name / filename are relative to it); needed with model. Example: planted/images.'),
  model: nonEmpty.optional().describe('Detector model folder (DETR/YOLOS ONNX export), relative to the spec; give model or detections. Example: models/detector.'),
  detections: nonEmpty.optional().describe('COCO results JSON made elsewhere (image_id or file_name, category_id, bbox [x, y, w, h], score); give model or detections. Example: results.json.'),
  category: nonEmpty.default('person').describe('Category audited, by name (the model label or ground-truth category). Example: person.'),
  iou: z.number().gt(0).lt(1).default(0.5).describe('IoU at which a person counts as found (recall, miss rate, false positives). Example: 0.5.'),
  score_threshold: z.number().min(0).max(1).default(0.5).describe('Detections scoring below this are not counted for recall, miss rate and false positives (AP uses every detection). Example: 0.5.'),
  max_dets: z.number().int().positive().default(100).describe('Detections kept per image, highest scores first (COCO maxDets). Example: 100.'),
  membership: z
    .enum(['majority', 'any'])
    .default('majority')
    .describe('FACET vote attributes: majority puts each person in the group most annotators chose; any puts a person in every group any annotator chose (groups overlap; needs a FACET CSV). Example: any.'),
});

export type DetectionEntry = z.infer<typeof entrySchema>;

export const detectionKind = defineAuditKind({
  ...meta,
  requires: { models: [], probeSet: false, groundTruth: false },
  parameters: entrySchema,
  check(entry) {
    const problems: { field: string; message: string }[] = [];
    if ((entry.model === undefined) === (entry.detections === undefined)) problems.push({ field: 'model', message: 'expected exactly one of model (a detector folder) or detections (a COCO results file)' });
    if (entry.model !== undefined && entry.images === undefined) problems.push({ field: 'images', message: 'expected the images folder (e.g. images: planted/images) to run the model on' });
    return problems;
  },
  async observe(entry, ctx): Promise<DetectionInput> {
    const groundTruth = await readAnnotations(ctx.path(entry.annotations), { required: [...ctx.sensitive], categories: [entry.category] });
    if (entry.detections !== undefined) {
      const file = await readCocoResults(ctx.path(entry.detections), groundTruth);
      const imagesDir = entry.images === undefined ? {} : { imagesDir: ctx.path(entry.images) };
      return { groundTruth, detections: file.detections, source: { kind: 'file', path: file.path, sha256: file.sha256 }, failures: [], inference: null, ...imagesDir };
    }
    const observed = await detectProbeImages(groundTruth, ctx.path(entry.model as string), ctx.path(entry.images as string), { cacheDir: ctx.cacheDir, progress: ctx.progress, label: `${entry.id ?? entry.kind}: detecting` });
    return { ...observed, imagesDir: ctx.path(entry.images as string) };
  },
  audit(observed, entry, settings) {
    const parameters = { id: entry.id, category: entry.category, iou: entry.iou, score_threshold: entry.score_threshold, max_dets: entry.max_dets, ...(entry.membership === 'any' ? { membership: entry.membership } : {}) };
    return auditDetection(observed, parameters, settings);
  },
  notes(result) {
    return [
      `${result.id}: intervals resample images (persons of one image stay together); the recall test is a chi-square over persons, which treats persons as independent.`,
      `${result.id}: AP per group ignores the other groups' persons (as COCO ignores crowd regions); false positives count against every group whose persons the image shows.`,
    ];
  },
});
