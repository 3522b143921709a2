/**
 * `retrieval`: for each text query, probe images ranked by CLIP similarity; MaxSkew@k, MinSkew@k
 * and NDKL@k per sensitive attribute against uniform and proportional targets (Geyik et al. 2019,
 * as used for CLIP by Berg et al. 2022), with bootstrap intervals.
 */
import type { AuditResult } from '../result.js';
import { dot, ensemble } from './clip.js';
import { analyze, auditResult, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import type { EmbeddedImage, FailedImage } from './inputs.js';

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
