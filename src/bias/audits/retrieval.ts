/**
 * `retrieval`: for each text query, probe images ranked by CLIP similarity; MaxSkew@k, MinSkew@k
 * and NDKL@k per sensitive attribute against uniform and proportional targets (Geyik et al. 2019,
 * as used for CLIP by Berg et al. 2022), with bootstrap intervals.
 */
import { z } from 'zod';
import type { AuditResult } from '../result.js';
import { dot, ensemble } from './clip.js';
import { analyze, auditResult, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import type { EmbeddedImage, FailedImage } from './inputs.js';
import { auditId, cutoffs, defineAuditKind, promptNote, stringList, templateProblems } from './kind.js';

export const meta: AuditMeta = {
  kind: 'retrieval',
  title: 'Retrieval skew (MaxSkew@k, MinSkew@k, NDKL)',
  description:
    'For each text query, probe images are ranked by CLIP similarity; the group composition of the top k is compared with a uniform and with the probe set’s own distribution.',
};

export interface RetrievalParameters {
  id: string;
  queries: string[];
  templates: string[];
  k: number[];
}

/** Similarity of every image to every (template-ensembled) query. */
export function observeRetrieval(images: readonly EmbeddedImage[], queries: readonly string[], templates: readonly string[], promptEmbeddings: readonly Float32Array[]): Observation[] {
  const queryEmbeddings = ensemble(promptEmbeddings, queries.length, templates.length);
  return images.map(({ row, embedding }) => ({
    file: row.file,
    sha256: row.sha256,
    attributes: row.attributes,
    values: {},
    scores: Object.fromEntries(queries.map((q, i) => [q, dot(embedding, queryEmbeddings[i])])),
  }));
}

export function auditRetrieval(
  observations: readonly Observation[],
  parameters: RetrievalParameters,
  settings: AuditSettings,
  failures: FailedImage[],
  inference: AuditResult['inference'],
): AuditResult {
  return auditResult(meta, parameters, {
    disclosure: { queries: parameters.queries, templates: parameters.templates },
    observations,
    features: analyze(observations, settings, { ks: parameters.k, label: parameters.id }),
    failures,
    inference,
  });
}

const entrySchema = z.strictObject({
  kind: z.literal('retrieval'),
  id: auditId,
  queries: stringList.describe('Text queries; probe images are ranked by CLIP similarity to each. Example: ["a photo of a CEO"].'),
  templates: stringList.default(['{label}']).describe('Templates containing {label} applied to each query and ensembled; default: the query as is. Example: ["a photo of a {label}"].'),
  k: cutoffs.default([10, 50, 100]).describe('Cutoffs of MaxSkew@k, MinSkew@k and NDKL@k; each at most the number of probe images. Example: [10, 50].'),
});

export const retrievalKind = defineAuditKind({
  ...meta,
  requires: { models: ['clip'], probeSet: true, groundTruth: false },
  parameters: entrySchema,
  check: (entry) => templateProblems(entry.templates),
  async observe(entry, ctx) {
    const { images, failures, prompts } = await ctx.promptedEmbeddings(entry.kind, entry.queries, entry.templates);
    return { observations: observeRetrieval(images, entry.queries, entry.templates, prompts), failures };
  },
  audit(observed, entry, settings) {
    const parameters = { id: entry.id, queries: entry.queries, templates: entry.templates, k: entry.k };
    return { result: auditRetrieval(observed.observations, parameters, settings, observed.failures, null), observations: observed.observations };
  },
  notes: (result) => [
    ...promptNote(result),
    `${result.id}: ranking ties are broken by input order; skew uses the natural log and counts a group absent from the top k as 1/k.`,
  ],
});
