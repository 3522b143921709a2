/**
 * `classification`: predictions (a ViT's own classes, or CLIP zero-shot over the spec's labels)
 * against the probe set's ground truth: per-group accuracy and error, TPR/FPR, equalized odds, and
 * the intersectional table of Gender Shades (Buolamwini & Gebru 2018) when intersections are given.
 */
import type { AuditResult } from '../result.js';
import { analyze, auditResult, defaultPositive, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import type { FailedImage } from './inputs.js';

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
