import type {
  AuditResult,
  BiasResult,
  FeatureResult,
  GroupMetrics,
  MetricValue,
  ThresholdVerdict,
} from '../../bias/result.js';
import { chartFigure, intervalBarsSpec, type ChartFigure } from '../charts.js';
import { formatDecimal, formatNumber, formatPercent } from '../helpers.js';
import { envelopeReproducibility, type Headline, type ReportView, type SummaryFigure, type ReproducibilityItem, type ViewContext } from '../view.js';
import { biasExamples, type ExampleGroup } from './bias-examples.js';
import { detectionExamples } from './detection-examples.js';
import { formatBound, formatMetric, formatMetricInterval, metricMeta } from '../../core/metric-meta.js';
import type { ReportModule } from './module.js';

/** Scalar per-group metrics, in table order; mean_* columns follow in the order the results list them. */
const RATE_METRICS = ['selection_rate', 'accuracy', 'error_rate', 'tpr', 'fpr'] as const;

/** At most this many problems of the probe-set validation are listed (the rest are counted). */
const MAX_PROBLEMS = 50;

interface MetricCell {
  key: string;
  value: number | null;
  ci: [number | null, number | null];
  percent: boolean;
}

interface GroupRow {
  name: string;
  count: number;
  share: number | null;
  insufficient: boolean;
  flagged: boolean;
  cells: MetricCell[];
}

function scalarMetricKeys(overall: GroupMetrics): string[] {
  const means = Object.keys(overall)
    .filter((key) => key.startsWith('mean_'))
    .sort();
  // Detection and segmentation audits (docs/detect.md) report these per group too.
  const detection = ['recall', 'miss_rate', 'ap', 'ap50', 'ap75', 'fp_per_image'].filter((key) => (overall as unknown as Record<string, unknown>)[key] !== undefined);
  return [...RATE_METRICS.filter((key) => overall[key] !== undefined), ...detection, ...means];
}

function metricValue(metrics: GroupMetrics | undefined, key: string): MetricValue | undefined {
  return metrics?.[key as keyof GroupMetrics] as MetricValue | undefined;
}

function cell(metrics: GroupMetrics | undefined, key: string): MetricCell {
  const value = metricValue(metrics, key);
  return { key, value: value?.value ?? null, ci: value?.ci ?? [null, null], percent: metricMeta(key).percent };
}

/**
 * Groups a failing or warning verdict points at: the verdict's own group, the disparity's pair, or
 * for a skew threshold the group that attains the skew (its scope reads "query @ k [target]").
 */
function flaggedGroups(result: BiasResult): Map<string, Set<string>> {
  const flagged = new Map<string, Set<string>>();
  const add = (attribute: string, group: string) => {
    if (!flagged.has(attribute)) flagged.set(attribute, new Set());
    flagged.get(attribute)!.add(group);
  };
  for (const verdict of result.verdicts) {
    if (verdict.status === 'pass') continue;
    const feature = result.audits.find((a) => a.id === verdict.audit)?.features.find((f) => f.attribute === verdict.attribute);
    if (!feature) continue;
    if (verdict.scope !== undefined && feature.groups.some((g) => g.name === verdict.scope)) add(feature.attribute, verdict.scope);
    for (const group of feature.disparities[verdict.metric]?.groups ?? []) {
      if (group !== 'overall') add(feature.attribute, group);
    }
    if (verdict.metric === 'max_skew' || verdict.metric === 'min_skew') {
      for (const [query, byK] of Object.entries(feature.skew ?? {})) {
        for (const [k, byTarget] of Object.entries(byK)) {
          for (const [target, skew] of Object.entries(byTarget)) {
            if (verdict.scope === `${query} @ ${k} [${target}]`) add(feature.attribute, skew[verdict.metric].group);
          }
        }
      }
    }
  }
  return flagged;
}

async function featureCharts(
  audit: AuditResult,
  feature: FeatureResult,
  metricKeys: string[],
  ciLevel: number,
  context: ViewContext,
): Promise<ChartFigure[]> {
  if (!context.visuals) return [];
  const charts: ChartFigure[] = [];
  for (const key of metricKeys) {
    const meta = metricMeta(key);
    const bars = feature.groups
      .map((group) => ({ group, value: metricValue(feature.by_group[group.name], key) }))
      .filter((entry) => entry.value?.value !== null && entry.value?.value !== undefined)
      .map(({ group, value }) => ({
        label: `${group.name} (n=${group.count})`,
        value: value!.value as number,
        low: value!.ci[0] ?? undefined,
        high: value!.ci[1] ?? undefined,
        marked: group.insufficient_data,
      }));
    if (bars.length === 0) continue;
    const overall = metricValue(feature.overall, key)?.value ?? undefined;
    const describe = (value: number) => (meta.percent ? formatPercent(value) : formatDecimal(value));
    const alt = `${meta.label} by ${feature.attribute} in ${audit.title}: ${bars
      .map((bar) => `${bar.label} ${describe(bar.value)}`)
      .join('; ')}${overall !== undefined ? `; overall ${describe(overall)}` : ''}.`;
    const spec = intervalBarsSpec(bars, {
      valueTitle: meta.label,
      percent: meta.percent,
      reference: overall ?? undefined,
      referenceLabel: 'overall',
      markedLabel: 'insufficient data',
      unmarkedLabel: 'judged',
    });
    charts.push(
      await chartFigure(
        spec,
        alt,
        `${meta.label} per ${feature.attribute} group with ${Math.round(ciLevel * 100)}% bootstrap intervals (whiskers); the dashed line is the overall value${bars.some((b) => b.marked) ? '; bars marked “insufficient data” in the legend have too few images to judge' : ''}.`,
      ),
    );
  }
  return charts;
}

async function featureView(
  audit: AuditResult,
  feature: FeatureResult,
  verdicts: readonly ThresholdVerdict[],
  flagged: Map<string, Set<string>>,
  ciLevel: number,
  minGroupSize: number,
  context: ViewContext,
) {
  const metricKeys = scalarMetricKeys(feature.overall);
  const flaggedHere = flagged.get(feature.attribute) ?? new Set<string>();
  const rows: GroupRow[] = feature.groups.map((group) => ({
    name: group.name,
    count: group.count,
    share: group.share,
    insufficient: group.insufficient_data,
    flagged: flaggedHere.has(group.name),
    cells: metricKeys.map((key) => cell(feature.by_group[group.name], key)),
  }));
  const labelsOfSelection = Object.keys(feature.overall.selection_rate_by_label ?? {});
  const selectionByLabel =
    labelsOfSelection.length > 0
      ? {
          labels: labelsOfSelection,
          rows: feature.groups.map((group) => ({
            name: group.name,
            insufficient: group.insufficient_data,
            cells: labelsOfSelection.map((label) => {
              const value = feature.by_group[group.name]?.selection_rate_by_label?.[label];
              return { key: `selection_rate_by_label:${label}`, value: value?.value ?? null, ci: value?.ci ?? [null, null], percent: true };
            }),
          })),
          overall: labelsOfSelection.map((label) => {
            const value = feature.overall.selection_rate_by_label?.[label];
            return { key: `selection_rate_by_label:${label}`, value: value?.value ?? null, ci: value?.ci ?? [null, null], percent: true };
          }),
        }
      : undefined;
  // Rows a threshold of the spec judged are marked with that check's verdict; the rest are descriptive.
  const judgedBy = (key: string) => verdicts.find((v) => v.audit === audit.id && v.attribute === feature.attribute && v.metric === key);
  const disparities = Object.entries(feature.disparities)
    .sort(([a], [b]) => Number(Boolean(judgedBy(b))) - Number(Boolean(judgedBy(a))) || Number(isDetailDisparity(a)) - Number(isDetailDisparity(b)))
    .map(([key, disparity]) => {
      const meta = metricMeta(key);
      const verdict = judgedBy(key);
      return {
        key,
        label: meta.label,
        description: meta.description,
        value: disparity.value,
        valueText: formatMetric(key, disparity.value),
        intervalText: formatMetricInterval(key, disparity.ci),
        judged: verdict ? { status: verdict.status, bound: boundText(verdict) } : undefined,
        ci: disparity.ci,
        groups: disparity.groups ? disparity.groups.join(' vs ') : null,
        worstLabel: disparity.label,
        detail: isDetailDisparity(key),
      };
    });
  const skew = Object.entries(feature.skew ?? {}).flatMap(([query, byK]) =>
    Object.entries(byK).flatMap(([k, byTarget]) =>
      Object.entries(byTarget).map(([target, value]) => ({
        query,
        k,
        target,
        maxSkew: value.max_skew,
        minSkew: value.min_skew,
        ndkl: value.ndkl,
        topK: Object.entries(value.top_k_counts).map(([group, count]) => ({ group, count })),
      })),
    ),
  );
  return {
    attribute: feature.attribute,
    ciPercent: Math.round(ciLevel * 100),
    minGroupSize,
    intersectional: feature.components.length > 1,
    anchor: `${audit.id}-${feature.attribute}`.replace(/[^A-Za-z0-9_-]+/g, '-'),
    columns: metricKeys.map((key) => ({ key, ...metricMeta(key) })),
    rows,
    overall: { count: feature.overall.count, cells: metricKeys.map((key) => cell(feature.overall, key)) },
    excluded: feature.groups.filter((g) => g.insufficient_data).map((g) => g.name),
    selectionByLabel,
    disparities: disparities.filter((d) => !d.detail),
    overallDisparities: disparities.filter((d) => d.detail),
    largestDisparity: feature.largest_disparity
      ? {
          ...feature.largest_disparity,
          metricLabel: metricMeta(feature.largest_disparity.metric).label,
          differenceText: formatMetric(`${feature.largest_disparity.metric}_difference`, feature.largest_disparity.difference),
        }
      : null,
    tests: feature.tests,
    skew,
    charts: await featureCharts(audit, feature, metricKeys, ciLevel, context),
  };
}

/** How the run's intervals were computed, in words: results record `interval_method` ('bca' since it
 * was introduced); older results without it used percentile intervals. */
export function intervalMethodName(settings: BiasResult['settings']): string {
  return settings.interval_method === 'bca' ? 'bias-corrected and accelerated (BCa) bootstrap' : 'percentile bootstrap';
}

/** Comparison operators as their mathematical signs, which read better than ">=" (and need no escaping). */
export function readableThreshold(threshold: string): string {
  return threshold.replace(/>=/g, '≥').replace(/<=/g, '≤');
}

/** "To overall" variants are kept for completeness but listed after the between-group measures. */
function isDetailDisparity(key: string): boolean {
  return key.endsWith('_to_overall');
}

function verdictRow(verdict: ThresholdVerdict) {
  const meta = metricMeta(verdict.metric);
  return {
    ...verdict,
    threshold: readableThreshold(verdict.threshold),
    metricLabel: meta.label,
    percent: meta.percent,
    valueText: formatMetric(verdict.metric, verdict.value),
    intervalText: formatMetricInterval(verdict.metric, verdict.ci),
    boundText: boundText(verdict),
    subject: verdictSubject(verdict).trim(),
    // The judge's reason is written in the metric table's units (src/bias/thresholds.ts formats through
    // src/core/metric-meta.ts); a fail decided on the interval only says so, since the row shows the numbers.
    why: verdict.status === 'fail' && verdict.fail_on !== 'significant' && verdict.comparison !== undefined ? `the whole ${verdict.ci ? 'interval' : 'value'} is on the wrong side of ${boundText(verdict)}` : verdict.reason,
  };
}

/** What a verdict is about, in words: "between tone=dark and tone=light", "for tone=dark", "across tone groups". */
function verdictSubject(verdict: ThresholdVerdict): string {
  const groups = (verdict.groups ?? []).filter((group) => group !== 'overall');
  const label = verdict.label === undefined ? '' : ` (label ${verdict.label})`;
  if (groups.length >= 2) return ` between ${verdict.attribute}=${groups[0]} and ${verdict.attribute}=${groups[1]}${label}`;
  if (groups.length === 1) return ` for ${verdict.attribute}=${groups[0]}${label}`;
  if (verdict.scope !== undefined) return ` for ${verdict.scope}`;
  return ` across ${verdict.attribute} groups`;
}

/** The bound a verdict was held to, in the metric's unit ("≤ 10.0 pts"); the threshold as written for older documents. */
function boundText(verdict: ThresholdVerdict): string {
  return verdict.comparison === undefined ? readableThreshold(verdict.threshold) : formatBound(verdict.metric, verdict.comparison, verdict.bound);
}

/** One verdict as a sentence with its evidence: metric, groups, value, interval and the bound it was held to. */
export function verdictSentence(verdict: ThresholdVerdict): string {
  const meta = metricMeta(verdict.metric);
  const value = verdict.value === null ? 'could not be computed' : `is ${formatMetric(verdict.metric, verdict.value)} ${formatMetricInterval(verdict.metric, verdict.ci)}`;
  return `${meta.label}${verdictSubject(verdict)} ${value}; the spec requires ${boundText(verdict)}`;
}

/** How far a value is on the wrong side of its bound, in the metric's own scale (to pick the worst failure). */
function violation(verdict: ThresholdVerdict): number {
  // Documents written before verdicts carried comparison and bound rank last.
  if (verdict.value === null || verdict.comparison === undefined) return 0;
  return verdict.comparison.startsWith('<') ? verdict.value - verdict.bound : verdict.bound - verdict.value;
}

/** The sentence at the top of the report: the run's verdict and the evidence that decided it. */
export function biasHeadline(result: BiasResult): Headline {
  const total = result.verdicts.length;
  const ci = Math.round(result.settings.ci_level * 100);
  const of = (status: ThresholdVerdict['status']) => result.verdicts.filter((v) => v.status === status);
  switch (result.verdict) {
    case 'fail': {
      const fails = of('fail');
      const worst = [...fails].sort((a, b) => violation(b) - violation(a))[0];
      const more = fails.length > 1 ? ` (${fails.length - 1} more of ${total} checks failed)` : '';
      return { label: 'FAIL', tone: 'bad', text: `${verdictSentence(worst)}${more}.` };
    }
    case 'pass':
      return { label: 'PASS', tone: 'good', text: `all ${total} threshold check${total === 1 ? '' : 's'} of the spec hold on this probe set, each with its whole ${ci}% interval; this does not show fairness on other data.` };
    case 'inconclusive': {
      const open = of('inconclusive');
      return { label: 'CANNOT TELL', tone: 'warn', text: `${open.length} of ${total} checks cannot be decided from this probe set: ${open[0] ? `${verdictSentence(open[0])}, but ${open[0].reason}` : 'see the verdicts'}.` };
    }
    default:
      return { label: 'NOT JUDGED', tone: 'neutral', text: 'the spec sets no thresholds, so the figures below describe the model without a verdict.' };
  }
}

/** The summary card of the check furthest on the wrong side of its bound (or the closest pass), with its interval. */
function worstCheckCard(result: BiasResult): SummaryFigure[] {
  const worst = [...result.verdicts].filter((v) => v.value !== null).sort((a, b) => violation(b) - violation(a))[0];
  if (!worst) return [];
  return [
    {
      key: 'worst-check',
      label: `${metricMeta(worst.metric).label}${verdictSubject(worst)} (${boundText(worst)} required)`,
      value: formatMetric(worst.metric, worst.value),
      raw: worst.value ?? undefined,
      interval: formatMetricInterval(worst.metric, worst.ci),
    },
  ];
}

function countStatuses(verdicts: readonly ThresholdVerdict[]): Record<ThresholdVerdict['status'], number> {
  const counts = { pass: 0, inconclusive: 0, fail: 0 };
  for (const verdict of verdicts) counts[verdict.status]++;
  return counts;
}

function reproducibility(result: BiasResult): ReproducibilityItem[] {
  const items: ReproducibilityItem[] = [...envelopeReproducibility(result)];
  if (result.spec) {
    items.push({ label: 'Spec file', value: result.spec.path, mono: true }, { label: 'Spec sha256', value: result.spec.sha256, mono: true });
  }
  if (result.model) {
    items.push(
      { label: 'Model', value: `${result.model.path} (${result.model.kind})`, mono: true },
      { label: 'Model sha256', value: result.model.sha256, mono: true },
      { label: 'Execution provider', value: result.model.provider },
    );
  }
  if (result.probe_set) {
    items.push(
      { label: 'Probe set', value: `${result.probe_set.root} (${result.probe_set.format})`, mono: true },
      { label: 'Probe-set manifest sha256', value: result.probe_set.manifest_sha256, mono: true },
    );
  }
  if (result.predictions) {
    items.push(
      { label: 'Predictions file', value: result.predictions.path, mono: true },
      { label: 'Predictions sha256', value: result.predictions.sha256, mono: true },
    );
  }
  const s = result.settings;
  items.push(
    { label: 'Seed', value: String(s.seed) },
    { label: 'Bootstrap', value: `${s.n_boot} resamples, stratified by group, ${Math.round(s.ci_level * 100)}% ${intervalMethodName(s)} intervals` },
    { label: 'Tests', value: `${s.n_permutations} permutations; Holm correction at α = ${s.alpha}` },
    { label: 'Minimum group size', value: String(s.min_group_size) },
  );
  return items;
}

export const biasModule: ReportModule<BiasResult> = {
  schema: 'vigil/bias',
  async buildView(result, context) {
    const flagged = flaggedGroups(result);
    const audits = [];
    for (const audit of result.audits) {
      const features = [];
      for (const feature of audit.features) features.push(await featureView(audit, feature, result.verdicts, flagged, result.settings.ci_level, result.settings.min_group_size, context));
      audits.push({
        id: audit.id,
        anchor: `audit-${audit.id}`.replace(/[^A-Za-z0-9_-]+/g, '-'),
        kind: audit.kind,
        title: audit.title,
        description: audit.description,
        nObservations: audit.n_observations,
        disclosure: {
          ...audit.disclosure,
          concepts: Object.entries(audit.disclosure.concepts ?? {}).map(([name, prompts]) => ({ name, prompts })),
        },
        hasDisclosure: Object.keys(audit.disclosure).length > 0,
        parameters: Object.entries(audit.parameters).map(([key, value]) => ({ key, value: JSON.stringify(value) })),
        attributes: features.filter((f) => !f.intersectional),
        intersections: features.filter((f) => f.intersectional),
        associations: (audit.associations ?? []).map((a) => ({ ...a })),
        failures: audit.failures,
        inference: audit.inference,
      });
    }

    // The probe set's composition: group counts of each single attribute (the same in every audit).
    const firstAudit = result.audits[0];
    const composition = (firstAudit?.features ?? [])
      .filter((f) => f.components.length === 1)
      .map((f) => ({ attribute: f.attribute, groups: f.groups, minGroupSize: result.settings.min_group_size }));
    const smallGroups = composition.flatMap((c) => c.groups.filter((g) => g.insufficient_data).map((g) => `${c.attribute}=${g.name}`));

    const examples: { groups: ExampleGroup[]; omitted: number; note?: string } = !context.visuals
      ? { groups: [], omitted: 0 }
      : context.includeExamples
        ? result.audits.some((a) => a.kind === 'detection')
          ? await detectionExamples(result, flagged, context)
          : await biasExamples(result, flagged, context)
        : flagged.size === 0
          ? { groups: [], omitted: 0 }
          : { groups: [], omitted: 0, note: 'Photographs of probe subjects from the flagged groups were left out of this report, as they are by default (they show people). Re-render with vigil report results.json --include-examples to embed a sample.' };

    const counts = countStatuses(result.verdicts);
    const verdicts = result.verdicts.map(verdictRow);
    const notes: string[] = [];
    if (smallGroups.length > 0) {
      notes.push(
        `${smallGroups.length} group(s) have fewer than ${result.settings.min_group_size} images and are reported but excluded from disparities and verdicts: ${smallGroups.join(', ')}.`,
      );
    }
    if (examples.omitted > 0) {
      const shown = examples.groups.reduce((n, g) => n + g.images.length, 0);
      examples.note = `A sample of ${shown} of the ${shown + examples.omitted} images in the flagged groups is shown, to keep this report small (at most ${context.maxImages} images, sampled with seed ${context.seed}).`;
    }

    const showExamples = examples.groups.length > 0 || examples.note !== undefined;
    const sections = [
      { id: 'verdicts', title: 'Verdicts against thresholds' },
      { id: 'scope', title: 'Scope and spec' },
      { id: 'probe-set', title: 'Probe set' },
      ...audits.map((a) => ({ id: a.anchor, title: a.title })),
      ...(showExamples ? [{ id: 'examples', title: 'Examples from flagged groups' }] : []),
    ];

    const view: ReportView = {
      partial: 'bias',
      kindLabel: 'Bias audit',
      title: `Bias audit: ${result.name}`,
      subtitle: result.model ? `Model ${result.model.path} (${result.model.kind}), provider ${result.model.provider}` : undefined,
      verdict: result.verdict,
      headline: biasHeadline(result),
      verdictReason:
        result.verdicts.length === 0
          ? 'No thresholds were set in the spec, so nothing was judged.'
          : `${counts.fail} of ${result.verdicts.length} threshold checks failed, ${counts.inconclusive} inconclusive, ${counts.pass} passed.`,
      summary: [
        { key: 'observations', label: 'Images audited', value: formatNumber(result.probe_set?.n_rows ?? result.predictions?.n_rows), raw: result.probe_set?.n_rows ?? result.predictions?.n_rows },
        { key: 'audits', label: 'Audits', value: formatNumber(result.audits.length), raw: result.audits.length },
        ...worstCheckCard(result),
        { key: 'thresholds-failed', label: 'Thresholds failed', value: formatNumber(counts.fail), raw: counts.fail },
        { key: 'thresholds-inconclusive', label: 'Thresholds inconclusive', value: formatNumber(counts.inconclusive), raw: counts.inconclusive },
        { key: 'thresholds-passed', label: 'Thresholds passed', value: formatNumber(counts.pass), raw: counts.pass },
      ],
      sections,
      notes,
      body: {
        verdicts,
        // Failed and undecided checks stay open; passed ones fold away (and print unfolded).
        openVerdicts: verdicts.filter((v) => v.status !== 'pass'),
        passedVerdicts: verdicts.filter((v) => v.status === 'pass'),
        ciPercent: Math.round(result.settings.ci_level * 100),
        intervalMethod: intervalMethodName(result.settings),
        spec: result.spec,
        specDocument: result.spec ? JSON.stringify(result.spec.document, null, 2) : undefined,
        model: result.model,
        predictions: result.predictions
          ? { ...result.predictions, columns: Object.entries(result.predictions.columns).map(([role, column]) => ({ role, column: Array.isArray(column) ? column.join(', ') : column })) }
          : null,
        settings: {
          ...result.settings,
          intersections: result.settings.intersections.map((components) => components.join(' × ')),
        },
        probeSet: result.probe_set
          ? {
              ...result.probe_set,
              problems: result.probe_set.problems.slice(0, MAX_PROBLEMS),
              problemsOmitted: Math.max(0, result.probe_set.problems.length - MAX_PROBLEMS),
            }
          : null,
        composition,
        minGroupSize: result.settings.min_group_size,
        audits,
        examples,
        showExamples,
      },
      reproducibility: reproducibility(result),
      limitations: [
        ...result.limitations,
        'A passing verdict means no threshold was violated on this probe set; it does not show the model is fair on other data or in other uses.',
      ],
    };
    return view;
  },
};
