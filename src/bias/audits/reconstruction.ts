/**
 * `reconstruction`: MAE reconstruction error per group with intervals. A group whose images the
 * model reconstructs worse is represented worse by its encoder (a representation-quality gap).
 */
import { z } from 'zod';
import { VigilInputError } from '../../core/errors.js';
import type { AuditResult } from '../result.js';
import { analyze, auditResult, type AuditMeta, type AuditSettings, type Observation } from './common.js';
import type { FailedImage } from './inputs.js';
import { auditId, defineAuditKind } from './kind.js';

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

const entrySchema = z.strictObject({
  kind: z.literal('reconstruction'),
  id: auditId,
  masks: z.number().int().positive().default(4).describe('Random masks averaged per image (seeded from the spec\'s seed). Example: 4.'),
});

export const reconstructionKind = defineAuditKind({
  ...meta,
  requires: { models: ['mae'], probeSet: true, groundTruth: false },
  parameters: entrySchema,
  async observe(entry, ctx) {
    const model = ctx.model;
    if (model.kind !== 'mae') throw new VigilInputError(`Audit kind reconstruction needs an MAE model but ${model.dir} holds a ${model.kind} model`);
    const { observed, failures } = await ctx.eachImage(
      `${entry.id ?? entry.kind}: reconstructing`,
      (onImage) => ctx.observer.reconstruct(model, ctx.inputs, { seed: ctx.seed, masks: entry.masks, cacheDir: ctx.cacheDir, onImage }),
      (row, obs): Observation => ({ file: row.file, sha256: row.sha256, attributes: row.attributes, values: { reconstruction_error: obs.reconstructionError }, scores: {} }),
    );
    return { observations: observed, failures, seed: ctx.seed };
  },
  audit(observed, entry, settings) {
    return {
      result: auditReconstruction(observed.observations, { id: entry.id, masks: entry.masks, seed: observed.seed }, settings, observed.failures, null),
      observations: observed.observations,
    };
  },
});
