/**
 * `reconstruction`: MAE reconstruction error per group with intervals. A group whose images the
 * model reconstructs worse is represented worse by its encoder (a representation-quality gap).
 */
import type { AuditResult } from '../result.js';
import { analyze, auditResult, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import type { FailedImage } from './inputs.js';

export const meta: AuditMeta = {
  kind: 'reconstruction',
  title: 'Reconstruction error by group (MAE)',
  description:
    'Mean masked-autoencoder reconstruction error per sensitive group (mean_reconstruction_error), its differences and ratios between groups, and a permutation test of the group means.',
};

export interface ReconstructionParameters {
  id: string;
  masks: number;
  seed: number;
}

export function auditReconstruction(
  observations: readonly Observation[],
  parameters: ReconstructionParameters,
  settings: AuditSettings,
  failures: FailedImage[],
  inference: AuditResult['inference'],
): AuditResult {
  return auditResult(meta, parameters, {
    disclosure: {},
    observations,
    features: analyze(observations, settings, { label: parameters.id }),
    failures,
    inference,
  });
}
