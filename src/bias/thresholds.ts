/**
 * Thresholds (`demographic_parity_ratio >= 0.8`, `max_skew@100 <= 0.3`,
 * `ndkl@50:proportional <= 0.1`) and their verdicts:
 * - fail: the point estimate violates the threshold;
 * - warn: the point estimate satisfies it but the bootstrap interval crosses it (inconclusive), or
 *   it lies inside the optional warn margin, or the metric could not be computed (too little data);
 * - pass: the point estimate and the whole interval satisfy it.
 * Per-group metrics (`accuracy >= 0.8`) are judged on every eligible group; the verdict names the
 * worst one. Groups flagged insufficient_data never enter a verdict.
 */
import type { AuditResult, FeatureResult, MetricValue, ThresholdVerdict, VerdictStatus } from './result.js';

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
}

const PER_GROUP = ['selection_rate', 'accuracy', 'error_rate', 'tpr', 'fpr'];
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

export function parseThreshold(entry: { check: string; warn?: number; audit?: string; attribute?: string }): Threshold {
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
  const threshold: Threshold = { text, metric, op: op as Comparison, bound: Number(bound) };
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

const SEVERITY: Record<VerdictStatus, number> = { pass: 0, warn: 1, fail: 2 };

/** Judges one value with its interval against a threshold. */
export function judge(value: number | null, ci: MetricValue['ci'] | null, t: Threshold): { status: VerdictStatus; reason: string } {
  if (value === null) return { status: 'warn', reason: 'not computable (too little data or an empty denominator)' };
  const shown = `${fmt(value)}`;
  if (!satisfies(value, t.op, t.bound)) return { status: 'fail', reason: `${shown} violates ${t.op} ${t.bound}` };
  if (t.warn !== undefined && !satisfies(value, t.op, t.warn)) return { status: 'warn', reason: `${shown} is within the warn margin (${t.op} ${t.warn})` };
  if (ci && ci[0] !== null && ci[1] !== null && !(satisfies(ci[0], t.op, t.bound) && satisfies(ci[1], t.op, t.bound))) {
    return { status: 'warn', reason: `${shown} satisfies ${t.op} ${t.bound} but its interval [${fmt(ci[0])}, ${fmt(ci[1])}] crosses it` };
  }
  return { status: 'pass', reason: `${shown} satisfies ${t.op} ${t.bound}${ci && ci[0] !== null ? ` with its whole interval [${fmt(ci[0])}, ${fmt(ci[1])}]` : ''}` };
}

function fmt(x: number | null): string {
  return x === null ? 'null' : Number(x.toPrecision(4)).toString();
}

function verdict(t: Threshold, audit: AuditResult, attribute: string, value: MetricValue | null, scope?: string): ThresholdVerdict {
  const j = judge(value?.value ?? null, value?.ci ?? null, t);
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
  };
}

function featureVerdicts(t: Threshold, audit: AuditResult, feature: FeatureResult): ThresholdVerdict[] {
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
        out.push(verdict(t, audit, feature.attribute, atK[target][t.metric as 'max_skew' | 'min_skew' | 'ndkl'], scope));
      }
    }
    return out;
  }
  const disparity = feature.disparities[t.metric];
  if (disparity) {
    const scope = disparity.groups ? `${disparity.groups.join(' vs ')}${disparity.label === undefined ? '' : ` (label ${disparity.label})`}` : undefined;
    return [verdict(t, audit, feature.attribute, disparity, scope)];
  }
  if (isPerGroup(t.metric)) {
    let worst: ThresholdVerdict | null = null;
    for (const group of feature.eligible_groups) {
      const value = feature.by_group[group][t.metric as 'accuracy'] as MetricValue | undefined;
      if (!value) return [];
      const v = verdict(t, audit, feature.attribute, value, group);
      const worse =
        worst === null ||
        SEVERITY[v.status] > SEVERITY[worst.status] ||
        (SEVERITY[v.status] === SEVERITY[worst.status] && v.value !== null && worst.value !== null && (t.op.startsWith('>') ? v.value < worst.value : v.value > worst.value));
      if (worse) worst = v;
    }
    return worst ? [worst] : [{ ...verdict(t, audit, feature.attribute, null), reason: 'no group has enough data (min_group_size)' }];
  }
  return [];
}

/** Every threshold against every audit and feature it applies to. */
export function evaluateThresholds(thresholds: readonly Threshold[], audits: readonly AuditResult[]): ThresholdVerdict[] {
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
          found.push(verdict(t, audit, a.attribute, value, `${a.x_group} vs ${a.y_group} × ${a.a_concept} vs ${a.b_concept}`));
        }
        continue;
      }
      for (const feature of audit.features) {
        if (t.attribute !== undefined && t.attribute !== feature.attribute) continue;
        found.push(...featureVerdicts(t, audit, feature));
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
        status: 'warn',
        reason: 'no audit computed this metric (check the audit kinds, attribute and ground truth)',
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

export function overallVerdict(verdicts: readonly ThresholdVerdict[]): VerdictStatus {
  return verdicts.reduce<VerdictStatus>((worst, v) => (SEVERITY[v.status] > SEVERITY[worst] ? v.status : worst), 'pass');
}
