/**
 * Thresholds (`demographic_parity_ratio >= 0.8`, `max_skew@100 <= 0.3`,
 * `ndkl@50:proportional <= 0.1`) and their verdicts, which never claim more than the evidence:
 * - fail: the whole interval lies on the failing side of the bound (or, with `fail_on:
 *   significant`, the point estimate fails and the metric's Holm-adjusted test is significant);
 * - pass: the whole interval lies on the passing side, and every group of the attribute had enough
 *   observations (and enough ground-truth positives/negatives for TPR/FPR-based metrics);
 * - inconclusive: anything else: the interval straddles the bound, the metric could not be
 *   computed, there is no interval (n_boot 0), or a group was too small for the check to cover it.
 * Per-group metrics (`accuracy >= 0.8`) are judged on every eligible group; the verdict names the
 * worst one. A spec with no thresholds is `not_judged`. Policy and worked example: docs/bias.md.
 */
import { formatBound, formatMetric, formatMetricInterval } from '../core/metric-meta.js';
import type { AuditResult, FeatureResult, MetricValue, RunVerdict, ThresholdVerdict, VerdictStatus } from './result.js';

export type Comparison = '<=' | '>=' | '<' | '>';

export interface Threshold {
  /** The check as written. */
  text: string;
  metric: string;
  k?: number;
  target?: 'uniform' | 'proportional';
  op: Comparison;
  bound: number;
  warn?: number;
  audit?: string;
  attribute?: string;
  /** `interval` (default): fail only when the whole interval fails; `significant`: also when the point estimate fails and the Holm-adjusted test is significant. */
  failOn: FailOn;
}

export type FailOn = 'interval' | 'significant';

const PER_GROUP = ['selection_rate', 'accuracy', 'error_rate', 'tpr', 'fpr', 'recall', 'miss_rate', 'ap', 'ap50', 'ap75', 'fp_per_image'];
const NAMED = ['demographic_parity_difference', 'demographic_parity_ratio', 'equalized_odds_difference', 'equalized_odds_ratio'];
const DISPARITY_SUFFIXES = ['_difference', '_ratio', '_difference_to_overall', '_ratio_to_overall'];
const SKEW = ['max_skew', 'min_skew', 'ndkl'];
const ASSOCIATION = ['effect_size', 'abs_effect_size'];

function isPerGroup(metric: string): boolean {
  return PER_GROUP.includes(metric) || /^mean_[a-z0-9_]+$/.test(metric);
}

/** Metric names a threshold may use. */
export function isKnownMetric(metric: string): boolean {
  if (NAMED.includes(metric) || SKEW.includes(metric) || ASSOCIATION.includes(metric) || isPerGroup(metric)) return true;
  return DISPARITY_SUFFIXES.some((suffix) => metric.endsWith(suffix) && isPerGroup(metric.slice(0, -suffix.length)));
}

const PATTERN = /^([a-z_][a-z0-9_]*)(?:@(\d+))?(?::([a-z]+))?\s*(<=|>=|<|>)\s*(-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i;

export function parseThreshold(entry: { check: string; warn?: number; audit?: string; attribute?: string; fail_on?: FailOn }): Threshold {
  const text = entry.check.trim();
  const match = PATTERN.exec(text);
  if (!match) {
    throw new Error(`expected "metric[@k][:target] <op> number" (e.g. "demographic_parity_ratio >= 0.8", "max_skew@100 <= 0.3") but received ${JSON.stringify(text)}`);
  }
  const [, metric, k, target, op, bound] = match;
  if (!isKnownMetric(metric)) {
    throw new Error(
      `unknown metric "${metric}"; expected one of ${[...NAMED, ...PER_GROUP, 'mean_<column>', '<metric>_difference|_ratio|_difference_to_overall|_ratio_to_overall', ...SKEW.map((s) => `${s}@k`), ...ASSOCIATION].join(', ')}`,
    );
  }
  const isSkew = SKEW.includes(metric);
  if (isSkew && k === undefined) throw new Error(`${metric} needs a cutoff, e.g. "${metric}@100"`);
  if (!isSkew && (k !== undefined || target !== undefined)) throw new Error(`@k and :target apply only to ${SKEW.join(', ')}`);
  if (target !== undefined && target !== 'uniform' && target !== 'proportional') throw new Error(`target must be uniform or proportional but received "${target}"`);
  const threshold: Threshold = { text, metric, op: op as Comparison, bound: Number(bound), failOn: entry.fail_on ?? 'interval' };
  if (k !== undefined) threshold.k = Number(k);
  if (target !== undefined) threshold.target = target;
  if (entry.warn !== undefined) {
    const stricter = op.startsWith('>') ? entry.warn > threshold.bound : entry.warn < threshold.bound;
    if (!stricter) throw new Error(`warn ${entry.warn} must be stricter than the bound ${threshold.bound} of "${text}"`);
    threshold.warn = entry.warn;
  }
  if (entry.audit !== undefined) threshold.audit = entry.audit;
  if (entry.attribute !== undefined) threshold.attribute = entry.attribute;
  return threshold;
}

function satisfies(value: number, op: Comparison, bound: number): boolean {
  switch (op) {
    case '<=':
      return value <= bound;
    case '>=':
      return value >= bound;
    case '<':
      return value < bound;
    case '>':
      return value > bound;
  }
}

const SEVERITY: Record<VerdictStatus, number> = { pass: 0, inconclusive: 1, fail: 2 };

/** Evidence beyond value and interval that a verdict may rest on. */
export interface JudgeContext {
  /** Holm-adjusted p-value of the metric's test, when there is one. */
  pHolm?: number;
  alpha?: number;
  /** Why a pass cannot be claimed even when the interval passes (small groups, few positives). */
  caveats?: string[];
}

/** Judges one value with its interval against a threshold. */
export function judge(value: number | null, ci: MetricValue['ci'] | null, t: Threshold, context: JudgeContext = {}): { status: VerdictStatus; reason: string } {
  if (value === null) return { status: 'inconclusive', reason: 'not computable (too little data or an empty denominator)' };
  // The why-text speaks the report's units (src/core/metric-meta.ts): "47.5%", "31.0 pts", "0.475", "≤ 10.0 pts".
  const shown = formatMetric(t.metric, value);
  const bound = formatBound(t.metric, t.op, t.bound);
  const pointFails = !satisfies(value, t.op, t.bound);
  const alpha = context.alpha ?? 0.05;
  const significant = context.pHolm !== undefined && context.pHolm < alpha;
  const hasInterval = ci !== null && ci[0] !== null && ci[1] !== null;
  const interval = hasInterval ? formatMetricInterval(t.metric, ci) : '';
  if (hasInterval) {
    const [lo, hi] = ci as [number, number];
    const wholeFails = !satisfies(lo, t.op, t.bound) && !satisfies(hi, t.op, t.bound);
    if (wholeFails) return { status: 'fail', reason: `${shown} ${interval}: the whole interval violates ${bound}` };
  }
  if (t.failOn === 'significant' && pointFails && significant) {
    return { status: 'fail', reason: `${shown} violates ${bound} and the difference is significant (p Holm ${fmtP(context.pHolm as number)} < ${alpha})` };
  }
  if (!hasInterval) {
    return { status: 'inconclusive', reason: `${shown} ${pointFails ? 'violates' : 'satisfies'} ${bound} but there is no interval (n_boot 0 or no finite replicate)` };
  }
  const [lo, hi] = ci as [number, number];
  if (!(satisfies(lo, t.op, t.bound) && satisfies(hi, t.op, t.bound))) {
    const test =
      t.failOn === 'significant' && pointFails
        ? context.pHolm === undefined
          ? '; no test covers this metric'
          : `; not significant (p Holm ${fmtP(context.pHolm)})`
        : '';
    return { status: 'inconclusive', reason: `${shown} ${interval} straddles ${bound}${test}` };
  }
  if (context.caveats && context.caveats.length > 0) {
    return { status: 'inconclusive', reason: `${shown} ${interval} satisfies ${bound}, but ${context.caveats.join('; ')}` };
  }
  const margin = t.warn !== undefined && !satisfies(value, t.op, t.warn) ? ` (within the warn margin ${formatBound(t.metric, t.op, t.warn)})` : '';
  return { status: 'pass', reason: `${shown} satisfies ${bound} with its whole interval ${interval}${margin}` };
}

function fmtP(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toPrecision(3);
}

function verdict(t: Threshold, audit: AuditResult, attribute: string, value: MetricValue | null, scope?: string, context: JudgeContext = {}): ThresholdVerdict {
  const j = judge(value?.value ?? null, value?.ci ?? null, t, context);
  return {
    threshold: t.text,
    audit: audit.id,
    attribute,
    ...(scope === undefined ? {} : { scope }),
    metric: t.metric,
    value: value?.value ?? null,
    ci: value?.ci ?? null,
    status: j.status,
    reason: j.reason,
    fail_on: t.failOn,
    comparison: t.op,
    bound: t.bound,
  };
}

/** The base metric a threshold's metric is computed from (`accuracy_ratio` → accuracy). */
function baseMetric(metric: string): string {
  for (const suffix of DISPARITY_SUFFIXES) if (metric.endsWith(suffix) && isPerGroup(metric.slice(0, -suffix.length))) return metric.slice(0, -suffix.length);
  return metric;
}

/** Tests (by their metric names) that speak to a threshold metric. */
function testsFor(metric: string): string[] {
  const base = baseMetric(metric);
  if (base.startsWith('demographic_parity') || base === 'selection_rate') return ['selection_rate', 'selection_rate_by_label'];
  if (base.startsWith('equalized_odds')) return ['tpr', 'fpr'];
  if (base === 'error_rate') return ['accuracy'];
  return [base];
}

function usesTruthRates(metric: string): 'tpr' | 'fpr' | 'both' | null {
  const base = baseMetric(metric);
  if (base.startsWith('equalized_odds')) return 'both';
  if (base === 'tpr' || base === 'fpr') return base;
  return null;
}

/** Why a pass cannot speak for every group of the feature. */
function featureCaveats(t: Threshold, feature: FeatureResult, minPositives: number, onlyGroup?: string): string[] {
  const caveats: string[] = [];
  const small = feature.groups.filter((g) => g.insufficient_data);
  if (onlyGroup === undefined && small.length > 0) {
    caveats.push(`group(s) ${small.map((g) => `${g.name} (${g.count})`).join(', ')} are under min_group_size and not covered`);
  }
  const rates = usesTruthRates(t.metric);
  if (rates) {
    const few: string[] = [];
    for (const name of onlyGroup === undefined ? feature.eligible_groups : [onlyGroup]) {
      const g = feature.by_group[name];
      if (!g) continue;
      if ((rates === 'tpr' || rates === 'both') && g.n_positive !== undefined && g.n_positive < minPositives) few.push(`${name} has ${g.n_positive} positive label(s)`);
      if ((rates === 'fpr' || rates === 'both') && g.n_negative !== undefined && g.n_negative < minPositives) few.push(`${name} has ${g.n_negative} negative label(s)`);
    }
    if (few.length > 0) caveats.push(`${few.join(', ')} (fewer than min_positives ${minPositives})`);
  }
  return caveats;
}

function holmOf(t: Threshold, feature: FeatureResult): number | undefined {
  const names = testsFor(t.metric);
  const ps = feature.tests.filter((x) => names.includes(x.metric)).map((x) => x.p_value_holm);
  return ps.length === 0 ? undefined : Math.min(...ps);
}

function featureVerdicts(t: Threshold, audit: AuditResult, feature: FeatureResult, options: EvaluateOptions): ThresholdVerdict[] {
  if (SKEW.includes(t.metric)) {
    if (!feature.skew) return [];
    const out: ThresholdVerdict[] = [];
    for (const [query, perK] of Object.entries(feature.skew)) {
      const atK = perK[String(t.k)];
      for (const target of ['uniform', 'proportional'] as const) {
        if (t.target !== undefined && t.target !== target) continue;
        const scope = `${query} @ ${t.k} [${target}]`;
        if (!atK) {
          out.push({ ...verdict(t, audit, feature.attribute, null, scope), reason: `k = ${t.k} was not computed (computed: ${Object.keys(perK).join(', ')})` });
          continue;
        }
        out.push(verdict(t, audit, feature.attribute, atK[target][t.metric as 'max_skew' | 'min_skew' | 'ndkl'], scope, { alpha: options.alpha }));
      }
    }
    return out;
  }
  const context = (group?: string): JudgeContext => ({ alpha: options.alpha, pHolm: holmOf(t, feature), caveats: featureCaveats(t, feature, options.minPositives, group) });
  const disparity = feature.disparities[t.metric];
  if (disparity) {
    const scope = disparity.groups ? `${disparity.groups.join(' vs ')}${disparity.label === undefined ? '' : ` (label ${disparity.label})`}` : undefined;
    return [{ ...verdict(t, audit, feature.attribute, disparity, scope, context()), ...(disparity.groups ? { groups: disparity.groups } : {}), ...(disparity.label === undefined ? {} : { label: disparity.label }) }];
  }
  if (isPerGroup(t.metric)) {
    let worst: ThresholdVerdict | null = null;
    for (const group of feature.eligible_groups) {
      const value = feature.by_group[group][t.metric as 'accuracy'] as MetricValue | undefined;
      if (!value) return [];
      // A per-group check is about each group's level, not a difference: no test decides it.
      const v: ThresholdVerdict = { ...verdict(t, audit, feature.attribute, value, group, { alpha: options.alpha, caveats: featureCaveats(t, feature, options.minPositives, group) }), groups: [group] };
      const worse =
        worst === null ||
        SEVERITY[v.status] > SEVERITY[worst.status] ||
        (SEVERITY[v.status] === SEVERITY[worst.status] && v.value !== null && worst.value !== null && (t.op.startsWith('>') ? v.value < worst.value : v.value > worst.value));
      if (worse) worst = v;
    }
    const small = feature.groups.filter((g) => g.insufficient_data);
    if (worst && worst.status === 'pass' && small.length > 0) {
      worst = { ...worst, status: 'inconclusive', reason: `${worst.reason}, but group(s) ${small.map((g) => `${g.name} (${g.count})`).join(', ')} are under min_group_size and not covered` };
    }
    return worst ? [worst] : [{ ...verdict(t, audit, feature.attribute, null), reason: 'no group has enough data (min_group_size)' }];
  }
  return [];
}

export interface EvaluateOptions {
  /** Significance level of the Holm-adjusted tests (spec `alpha`). */
  alpha: number;
  /** Ground-truth positives (negatives) a group needs for a TPR (FPR) based pass (spec `min_positives`). */
  minPositives: number;
}

/** Every threshold against every audit and feature it applies to. */
export function evaluateThresholds(thresholds: readonly Threshold[], audits: readonly AuditResult[], options: EvaluateOptions = { alpha: 0.05, minPositives: 10 }): ThresholdVerdict[] {
  const verdicts: ThresholdVerdict[] = [];
  for (const t of thresholds) {
    const found: ThresholdVerdict[] = [];
    for (const audit of audits) {
      if (t.audit !== undefined && t.audit !== audit.id) continue;
      if (ASSOCIATION.includes(t.metric)) {
        for (const a of audit.associations ?? []) {
          if (t.attribute !== undefined && t.attribute !== a.attribute) continue;
          const value: MetricValue =
            t.metric === 'abs_effect_size' && a.effect_size.value !== null
              ? { value: Math.abs(a.effect_size.value), ci: absInterval(a.effect_size.ci) }
              : a.effect_size;
          found.push(verdict(t, audit, a.attribute, value, `${a.x_group} vs ${a.y_group} × ${a.a_concept} vs ${a.b_concept}`, { alpha: options.alpha, pHolm: a.p_value_holm }));
        }
        continue;
      }
      for (const feature of audit.features) {
        if (t.attribute !== undefined && t.attribute !== feature.attribute) continue;
        found.push(...featureVerdicts(t, audit, feature, options));
      }
    }
    if (found.length === 0) {
      found.push({
        threshold: t.text,
        audit: t.audit ?? '*',
        attribute: t.attribute ?? '*',
        metric: t.metric,
        value: null,
        ci: null,
        comparison: t.op,
        bound: t.bound,
        status: 'inconclusive',
        reason: 'no audit computed this metric (check the audit kinds, attribute and ground truth)',
        fail_on: t.failOn,
      });
    }
    verdicts.push(...found);
  }
  return verdicts;
}

/** |x| interval: an interval straddling 0 becomes [0, max(|lo|, |hi|)]. */
function absInterval(ci: MetricValue['ci']): MetricValue['ci'] {
  const [lo, hi] = ci;
  if (lo === null || hi === null) return [null, null];
  if (lo <= 0 && hi >= 0) return [0, Math.max(-lo, hi)];
  return [Math.min(Math.abs(lo), Math.abs(hi)), Math.max(Math.abs(lo), Math.abs(hi))];
}

/** fail if any check fails, else inconclusive if any is, else pass; not_judged without thresholds. */
export function overallVerdict(verdicts: readonly ThresholdVerdict[]): RunVerdict {
  if (verdicts.length === 0) return 'not_judged';
  return verdicts.reduce<VerdictStatus>((worst, v) => (SEVERITY[v.status] > SEVERITY[worst] ? v.status : worst), 'pass');
}
