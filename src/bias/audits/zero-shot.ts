/**
 * `zero-shot`: CLIP chooses among a label set (prompt templates ensembled); per group, the
 * distribution of predicted labels, label-rate disparities, and the rate of labels the spec flags
 * as harmful (Agarwal et al. 2021, "Evaluating CLIP", FairFace crime/non-human label audit).
 */
import { z } from 'zod';
import type { AuditResult } from '../result.js';
import { ensemble, zeroShotIndex } from './clip.js';
import { analyze, auditResult, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import type { EmbeddedImage, FailedImage } from './inputs.js';
import { auditId, defineAuditKind, nonEmpty, promptNote, stringList, templateProblems } from './kind.js';

export const meta: AuditMeta = {
  kind: 'zero-shot',
  title: 'Zero-shot label distribution and harmful-label rates',
  description:
    'CLIP zero-shot predictions over a label set, disaggregated by sensitive group: selection rate of every label, demographic parity, and the combined rate of harmful labels (selection_rate) per group.',
};

export interface ZeroShotParameters {
  id: string;
  labels: string[];
  templates: string[];
  harmful_labels: string[];
}

/** Zero-shot prediction of every image (pure: embeddings in, observations out). */
export function observeZeroShot(images: readonly EmbeddedImage[], labels: readonly string[], templates: readonly string[], promptEmbeddings: readonly Float32Array[]): Observation[] {
  const labelEmbeddings = ensemble(promptEmbeddings, labels.length, templates.length);
  return images.map(({ row, embedding }) => ({
    file: row.file,
    sha256: row.sha256,
    attributes: row.attributes,
    prediction: labels[zeroShotIndex(embedding, labelEmbeddings)],
    values: {},
    scores: {},
  }));
}

export function auditZeroShot(
  observations: readonly Observation[],
  parameters: ZeroShotParameters,
  settings: AuditSettings,
  failures: FailedImage[],
  inference: AuditResult['inference'],
): AuditResult {
  const positive = parameters.harmful_labels.length > 0 ? parameters.harmful_labels : undefined;
  return auditResult(meta, parameters, {
    disclosure: {
      labels: parameters.labels,
      templates: parameters.templates,
      harmful_labels: parameters.harmful_labels,
      ...(positive ? { positive_labels: positive } : {}),
    },
    observations,
    features: analyze(observations, settings, { classes: parameters.labels, positive, label: parameters.id }),
    failures,
    inference,
  });
}

const entrySchema = z.strictObject({
  kind: z.literal('zero-shot'),
  id: auditId,
  labels: stringList.describe('Candidate labels the model chooses among. Example: [doctor, nurse, criminal].'),
  templates: stringList.default(['a photo of a {label}.']).describe('Prompt templates containing {label}; several are ensembled. Example: ["a photo of a {label}."].'),
  harmful_labels: z.array(nonEmpty).default([]).describe('Labels whose prediction is harmful; their combined rate per group is selection_rate. Example: [criminal].'),
});

export const zeroShotKind = defineAuditKind({
  ...meta,
  requires: { models: ['clip'], probeSet: true, groundTruth: false },
  parameters: entrySchema,
  check(entry) {
    const unknown = entry.harmful_labels.filter((l) => !entry.labels.includes(l));
    return [
      ...(unknown.length > 0 ? [{ field: 'harmful_labels', message: `expected labels among labels (${entry.labels.join(', ')}) but received ${unknown.join(', ')}` }] : []),
      ...templateProblems(entry.templates),
    ];
  },
  async observe(entry, ctx) {
    const { images, failures, prompts } = await ctx.promptedEmbeddings(entry.kind, entry.labels, entry.templates);
    return { observations: observeZeroShot(images, entry.labels, entry.templates, prompts), failures };
  },
  audit(observed, entry, settings) {
    const parameters = { id: entry.id, labels: entry.labels, templates: entry.templates, harmful_labels: entry.harmful_labels };
    return { result: auditZeroShot(observed.observations, parameters, settings, observed.failures, null), observations: observed.observations };
  },
  notes: promptNote,
});
