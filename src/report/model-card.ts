import { basename, isAbsolute, relative } from 'node:path';
import Handlebars from 'handlebars';
import { stringify } from 'yaml';
import type { AuditKind, BiasResult, FeatureResult, MetricValue, ThresholdVerdict } from '../bias/result.js';
import { VigilInputError } from '../core/errors.js';
import { formatDecimal, formatInterval, formatPercent } from './helpers.js';
import { intervalMethodName, readableThreshold } from './modules/bias.js';
import { formatMetric, metricMeta } from '../core/metric-meta.js';
import { loadTemplates } from './templates.js';
import { DENSE_DISPARITIES, DENSE_TABLE_KEYS, DENSE_TASK_TYPES, denseDataset, denseMetrics, isDenseAudit, modelIndexInterval, modelIndexValue } from './model-card-dense.js';

/**
 * `vigil model-card`: the bias sections of a Hugging Face model card (README.md of a model repo)
 * from a bias audit's results.json: "Bias, Risks, and Limitations", "Evaluation" (testing data,
 * factors, metrics, results with confidence intervals) in the order of the Hugging Face template
 * and the Model Cards paper, and `model-index` metadata for the card's YAML header.
 */

export interface ModelCardOptions {
  /** Name in model-index (default: the audited model folder's name, else the audit name). */
  modelName?: string;
  templatesDir?: string;
}

/** Hugging Face task ids of the audit kinds (model-index `task.type`). */
const TASK_TYPES: Record<AuditKind, string> = {
  'zero-shot': 'zero-shot-image-classification',
  classification: 'image-classification',
  retrieval: 'image-retrieval',
  association: 'zero-shot-image-classification',
  reconstruction: 'image-feature-extraction',
  predictions: 'image-classification',
};

/** The disparities a model card reports (Fairlearn's headline measures first). */
const HEADLINE_DISPARITIES = [
  'demographic_parity_difference',
  'demographic_parity_ratio',
  'equalized_odds_difference',
  'equalized_odds_ratio',
  'accuracy_difference',
  'error_rate_difference',
  'selection_rate_difference',
  ...DENSE_DISPARITIES,
];

function format(key: string, value: MetricValue | undefined): { value: string; interval: string } {
  const percent = metricMeta(key).percent;
  if (!value || value.value === null) return { value: '—', interval: '' };
  return {
    value: percent ? formatPercent(value.value) : formatDecimal(value.value),
    interval: formatInterval(value.ci[0], value.ci[1], percent),
  };
}

function scalarKeys(feature: FeatureResult): string[] {
  return ['selection_rate', 'accuracy', 'error_rate', 'tpr', 'fpr', ...DENSE_TABLE_KEYS].filter((key) => feature.overall[key as 'accuracy'] !== undefined);
}

function modelIndex(result: BiasResult, modelName: string): string {
  const results = result.audits.map((audit) => ({
    task: { type: TASK_TYPES[audit.kind] ?? DENSE_TASK_TYPES[audit.kind], name: audit.title },
    dataset: (isDenseAudit(audit) ? denseDataset(audit) : null) ?? {
      type: result.probe_set ? `vigil-probe-set/${result.probe_set.format}` : 'predictions',
      name: result.probe_set ? basename(result.probe_set.root) : result.predictions ? basename(result.predictions.path) : result.name,
      ...(result.probe_set ? { revision: result.probe_set.manifest_sha256 } : {}),
    },
    metrics: isDenseAudit(audit) ? denseMetrics(audit, result.settings.ci_level) : audit.features.flatMap((feature) =>
      HEADLINE_DISPARITIES.filter((key) => feature.disparities[key]?.value !== null && feature.disparities[key] !== undefined).map((key) => ({
        type: key,
        value: modelIndexValue(feature.disparities[key].value),
        name: `${metricMeta(key).label} (${feature.attribute})`,
        args: { sensitive_feature: feature.attribute, ...modelIndexInterval(feature.disparities[key], result.settings.ci_level) },
        verified: false,
      })),
    ),
  }));
  return stringify({ 'model-index': [{ name: modelName, results }] }, { lineWidth: 0 });
}

function isBiasResult(results: unknown): results is BiasResult {
  return typeof results === 'object' && results !== null && (results as { schema?: unknown }).schema === 'vigil/bias';
}

/**
 * A recorded path fit to publish: relative paths stay; an absolute one becomes relative to the
 * current folder when inside it, else its last two parts ("…/models/vit"), so a card never carries
 * the auditor's home folder or machine layout.
 */
export function shareablePath(path: string, cwd = process.cwd()): string {
  if (!isAbsolute(path)) return path;
  const fromHere = relative(cwd, path);
  if (fromHere !== '' && !fromHere.startsWith('..') && !isAbsolute(fromHere)) return fromHere;
  return `…/${path.split(/[\\/]/).filter(Boolean).slice(-2).join('/')}`;
}

/** Renders the model-card Markdown (with its YAML front matter) of a bias results document. */
export function renderModelCard(results: unknown, options: ModelCardOptions = {}): string {
  if (!isBiasResult(results)) {
    const schema = typeof results === 'object' && results !== null ? (results as { schema?: unknown }).schema : undefined;
    throw new VigilInputError(`Expected the results.json of a bias audit (schema vigil/bias) but received schema ${JSON.stringify(schema ?? null)}`, {
      subject: 'schema',
    });
  }
  const result = results;
  const modelName = options.modelName ?? (result.model ? basename(result.model.path) : result.name);
  const ciPercent = Math.round(result.settings.ci_level * 100);
  const failing = result.verdicts.filter((v) => v.status !== 'pass');
  const smallGroups = (result.audits[0]?.features ?? [])
    .filter((f) => f.components.length === 1)
    .flatMap((f) => f.groups.filter((g) => g.insufficient_data).map((g) => ({ attribute: f.attribute, name: g.name, count: g.count })));

  const verdictView = (v: ThresholdVerdict) => ({
    ...v,
    threshold: readableThreshold(v.threshold),
    // Plain-text signs: a Markdown-escaped "<=" would show as "&lt;=" in the card's source.
    reason: readableThreshold(v.reason),
    value: v.value === null ? '—' : formatDecimal(v.value),
    interval: v.ci ? formatInterval(v.ci[0], v.ci[1]) : '—',
  });

  const audits = result.audits.map((audit) => ({
    title: audit.title,
    kind: audit.kind,
    description: audit.description,
    disclosure: audit.disclosure,
    features: audit.features.map((feature) => {
      const keys = scalarKeys(feature);
      return {
        attribute: feature.attribute,
        columns: keys.map((key) => metricMeta(key).label),
        rows: [
          ...feature.groups.map((group) => ({
            name: group.name,
            count: group.count,
            flag: group.insufficient_data ? ' (insufficient data)' : '',
            cells: keys.map((key) => format(key, feature.by_group[group.name]?.[key as 'accuracy'])),
          })),
          { name: 'Overall', count: feature.overall.count, flag: '', cells: keys.map((key) => format(key, feature.overall[key as 'accuracy'])) },
        ],
        disparities: HEADLINE_DISPARITIES.filter((key) => feature.disparities[key] !== undefined).map((key) => ({
          label: metricMeta(key).label,
          ...format(key, feature.disparities[key]),
          groups: feature.disparities[key].groups?.join(' vs ') ?? '—',
        })),
        largest: feature.largest_disparity
          ? {
              ...feature.largest_disparity,
              metricLabel: metricMeta(feature.largest_disparity.metric).label.toLowerCase(),
              differenceText: formatMetric(`${feature.largest_disparity.metric}_difference`, feature.largest_disparity.difference),
            }
          : null,
      };
    }),
  }));

  const view = {
    frontMatter: new Handlebars.SafeString(modelIndex(result, modelName)),
    modelName,
    name: result.name,
    verdict: result.verdict,
    ciPercent,
    intervalMethod: intervalMethodName(result.settings),
    failing: failing.map(verdictView),
    verdicts: result.verdicts.map(verdictView),
    smallGroups,
    minGroupSize: result.settings.min_group_size,
    settings: { ...result.settings, intersections: result.settings.intersections.map((c) => c.join(' × ')) },
    // Paths as a reader elsewhere can use them: relative to here, or only their last parts (no local layout leaks).
    probeSet: result.probe_set ? { ...result.probe_set, root: shareablePath(result.probe_set.root) } : null,
    predictions: result.predictions ? { ...result.predictions, path: shareablePath(result.predictions.path) } : null,
    model: result.model ? { ...result.model, path: shareablePath(result.model.path) } : null,
    spec: result.spec ? { ...result.spec, path: shareablePath(result.spec.path) } : null,
    audits,
    limitations: result.limitations.map(readableThreshold),
    tool: result.tool,
    createdAt: result.createdAt,
  };
  return loadTemplates('markdown', options.templatesDir).renderTemplate('model-card', view);
}
