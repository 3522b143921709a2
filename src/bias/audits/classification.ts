/**
 * `classification`: predictions (a ViT's own classes, or CLIP zero-shot over the spec's labels)
 * against the probe set's ground truth: per-group accuracy and error, TPR/FPR, equalized odds, and
 * the intersectional table of Gender Shades (Buolamwini & Gebru 2018) when intersections are given.
 */
import { z } from 'zod';
import { VigilInputError } from '../../core/errors.js';
import type { AuditResult } from '../result.js';
import { ensemble, zeroShotIndex } from './clip.js';
import { analyze, auditResult, defaultPositive, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import type { FailedImage } from './inputs.js';
import { auditId, defineAuditKind, nonEmpty, stringList, templateProblems } from './kind.js';

export const meta: AuditMeta = {
  kind: 'classification',
  title: 'Classification accuracy and equalized odds by group',
  description:
    'Predictions against ground truth, disaggregated by sensitive group and intersection: accuracy, error rate, TPR and FPR per group, equalized odds and demographic parity, with stratified bootstrap intervals.',
};

export interface ClassificationParameters {
  id: string;
  /** Labels the model chose among (the ground truth must use them). */
  labels: string[];
  templates?: string[];
  positive_labels?: string[];
  /** `vit` (the model's own head) or `clip` (zero-shot over labels/templates). */
  predictor: 'vit' | 'clip';
}

export function auditClassification(
  observations: readonly Observation[],
  parameters: ClassificationParameters,
  settings: AuditSettings,
  failures: FailedImage[],
  inference: AuditResult['inference'],
): AuditResult {
  const positive = parameters.positive_labels ?? defaultPositive(parameters.labels);
  return auditResult(meta, parameters, {
    disclosure: {
      labels: parameters.labels,
      ...(parameters.templates ? { templates: parameters.templates } : {}),
      ...(positive ? { positive_labels: positive } : {}),
    },
    observations,
    features: analyze(observations, settings, { classes: parameters.labels, positive, label: parameters.id }),
    failures,
    inference,
  });
}

const entrySchema = z.strictObject({
  kind: z.literal('classification'),
  id: auditId,
  labels: stringList.optional().describe('ViT: a subset of its labels (default: all); CLIP: the zero-shot classes (required). Ground truth must use them. Example: [cat, dog].'),
  templates: stringList.optional().describe('CLIP only: prompt templates containing {label} (default ["a photo of a {label}."]). Example: ["a photo of a {label}.", "a close-up photo of a {label}."].'),
  positive_labels: z.array(nonEmpty).optional().describe('Label(s) that count as positive for selection rate, TPR and FPR. Example: [smiling].'),
  predictor: z.enum(['vit', 'clip']).optional().describe('What predicts: vit (the model\'s own head) or clip (zero-shot over labels/templates); default: from the model. The report shows it; a value that does not match the model is an error. Example: vit.'),
});

export const classificationKind = defineAuditKind({
  ...meta,
  requires: { models: ['vit', 'clip'], probeSet: true, groundTruth: true },
  parameters: entrySchema,
  check: (entry) => templateProblems(entry.templates),
  async observe(entry, ctx) {
    const id = entry.id ?? entry.kind;
    const probe = ctx.probe;
    if (!probe.labelColumn) {
      throw new VigilInputError(`Audit ${id} (classification) needs ground truth but probe set ${probe.source} has no label column (set probe_set.label_column)`);
    }
    const model = ctx.model;
    const predictor = model.kind === 'vit' ? ('vit' as const) : ('clip' as const);
    if (entry.predictor !== undefined && entry.predictor !== predictor) {
      throw new VigilInputError(`Audit ${id}: predictor is ${entry.predictor} but the model ${model.dir} is a ${model.kind} model`);
    }
    const failures: FailedImage[] = [];
    const observations: Observation[] = [];
    let labels: string[];
    let templates: string[] | undefined;
    if (model.kind === 'vit') {
      labels = entry.labels ?? model.labels;
      const classified = await ctx.eachImage(
        `${id}: classifying`,
        (onImage) => ctx.observer.classify(model, ctx.inputs, { labels, top: 1, cacheDir: ctx.cacheDir, onImage }),
        (row, obs): Observation => ({ file: row.file, sha256: row.sha256, attributes: row.attributes, truth: row.label as string, prediction: obs.top[0].label, values: {}, scores: {} }),
      );
      failures.push(...classified.failures);
      observations.push(...classified.observed);
    } else {
      ctx.clip(entry.kind); // a model of the wrong kind is reported before missing labels
      if (!entry.labels) throw new VigilInputError(`Audit ${id}: classification with a CLIP model needs labels (the zero-shot classes)`);
      labels = entry.labels;
      templates = entry.templates ?? ['a photo of a {label}.'];
      const { images, failures: embedFailures, prompts } = await ctx.promptedEmbeddings(entry.kind, labels, templates);
      failures.push(...embedFailures);
      const labelEmbeddings = ensemble(prompts, labels.length, templates.length);
      for (const { row, embedding } of images) {
        observations.push({ file: row.file, sha256: row.sha256, attributes: row.attributes, truth: row.label as string, prediction: labels[zeroShotIndex(embedding, labelEmbeddings)], values: {}, scores: {} });
      }
    }
    return { observations, failures, labels, templates, predictor };
  },
  audit(observed, entry, settings) {
    const parameters = {
      id: entry.id,
      labels: observed.labels,
      predictor: observed.predictor,
      ...(observed.templates ? { templates: observed.templates } : {}),
      ...(entry.positive_labels ? { positive_labels: entry.positive_labels } : {}),
    };
    return { result: auditClassification(observed.observations, parameters, settings, observed.failures, null), observations: observed.observations };
  },
});
