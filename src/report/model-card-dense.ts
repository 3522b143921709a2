import { basename } from 'node:path';
import type { AuditResult, FeatureResult, MetricValue } from '../bias/result.js';
import { metricMeta } from '../core/metric-meta.js';

/**
 * The model card's parts for detection and segmentation audits: Hugging Face task ids, the
 * ground truth as the model-index dataset, and per-group metrics (recall and AP50 for detectors,
 * mean mask IoU for segmenters) with their intervals in model-index form, beside the disparities.
 */

/** Hugging Face task ids of the dense audit kinds (model-index `task.type`). */
export const DENSE_TASK_TYPES: Record<string, string> = { detection: 'object-detection', segmentation: 'image-segmentation' };

/** Per-group metrics a card reports for a dense audit (those the audit has). */
const GROUP_METRICS = ['recall', 'ap50', 'mean_mask_iou'];

/** Disparities a card reports for a dense audit (between the audit's named groups). */
export const DENSE_DISPARITIES = ['recall_difference', 'recall_ratio', 'ap50_difference', 'mean_mask_iou_difference'];

/** Columns of a dense audit's group table in the card. */
export const DENSE_TABLE_KEYS = ['recall', 'miss_rate', 'ap', 'ap50', 'fp_per_image', 'mean_mask_iou'];

/** A value as model-index metrics carry it: rounded to 4 decimals. */
export const modelIndexValue = (value: number | null) => (value === null ? null : Number(value.toFixed(4)));

/** A metric's interval as model-index `args` carry it. */
export function modelIndexInterval(value: MetricValue, ciLevel: number): { ci_low: number | null; ci_high: number | null; ci_level: number } {
  return { ci_low: modelIndexValue(value.ci[0]), ci_high: modelIndexValue(value.ci[1]), ci_level: ciLevel };
}

export function isDenseAudit(audit: Pick<AuditResult, 'kind'>): boolean {
  return audit.kind in DENSE_TASK_TYPES;
}

/** The audit's ground truth as a model-index dataset (COCO instances or FACET CSV, by content hash), or null. */
export function denseDataset(audit: AuditResult): { type: string; name: string; revision?: string } | null {
  const annotations = audit.parameters.annotations as { path?: unknown; sha256?: unknown; format?: unknown } | undefined;
  if (!annotations || typeof annotations.path !== 'string') return null;
  const format = annotations.format === 'facet' ? 'facet' : 'coco';
  return { type: `vigil-annotations/${format}`, name: basename(annotations.path), ...(typeof annotations.sha256 === 'string' ? { revision: annotations.sha256 } : {}) };
}

/** model-index metric entries: each group's recall / AP50 / mean mask IoU with its interval, then the disparities. */
export function denseMetrics(audit: AuditResult, ciLevel: number): Record<string, unknown>[] {
  const iou = typeof audit.parameters.iou === 'number' ? { iou: audit.parameters.iou } : {};
  const perGroup = (feature: FeatureResult) =>
    GROUP_METRICS.flatMap((key) =>
      feature.groups.flatMap((group) => {
        const value = (feature.by_group[group.name] as unknown as Record<string, MetricValue | undefined> | undefined)?.[key];
        if (!value || value.value === null) return [];
        return [
          {
            type: key,
            value: modelIndexValue(value.value),
            name: `${metricMeta(key).label} (${feature.attribute} = ${group.name})`,
            args: { sensitive_feature: feature.attribute, group: group.name, n: group.count, ...(key === 'recall' ? iou : {}), ...modelIndexInterval(value, ciLevel), ...(group.insufficient_data ? { insufficient_data: true } : {}) },
            verified: false,
          },
        ];
      }),
    );
  const disparities = (feature: FeatureResult) =>
    DENSE_DISPARITIES.filter((key) => feature.disparities[key] !== undefined && feature.disparities[key].value !== null).map((key) => ({
      type: key,
      value: modelIndexValue(feature.disparities[key].value),
      name: `${metricMeta(key).label} (${feature.attribute}${feature.disparities[key].groups ? `: ${feature.disparities[key].groups!.join(' vs ')}` : ''})`,
      args: { sensitive_feature: feature.attribute, ...modelIndexInterval(feature.disparities[key], ciLevel) },
      verified: false,
    }));
  return audit.features.flatMap((feature) => [...perGroup(feature), ...disparities(feature)]);
}
