/**
 * The results document of `vigil bias` (`<out>/results.json`, schema `vigil/bias`). Reports and
 * `vigil model-card` render from it alone, so it is self-describing: the spec, model and probe-set
 * hashes, the provider, the seed and n_boot, every metric with its bootstrap interval, the label
 * and prompt sets used, every threshold with its verdict, and the limitations of the run.
 *
 * Field names are stable (snake_case metric keys follow Fairlearn's names). Numbers that cannot be
 * computed (a rate with an empty denominator, a disparity with fewer than two eligible groups) are
 * `null`.
 */
import type { ResultEnvelope } from '../core/results.js';

/** A point estimate with its percentile bootstrap interval at `settings.ci_level`. */
export interface MetricValue {
  value: number | null;
  ci: [number | null, number | null];
}

/** Metrics of one group (or of all observations, `overall`). */
export interface GroupMetrics {
  /** Observations in the group (fixed under the stratified bootstrap, so no interval). */
  count: number;
  /** Share of predictions in `positive_labels` (binary or harmful-label audits). */
  selection_rate?: MetricValue;
  /** Share of predictions per predicted label, keyed by label. */
  selection_rate_by_label?: Record<string, MetricValue>;
  /** Share of predictions equal to the ground truth. */
  accuracy?: MetricValue;
  /** 1 − accuracy. */
  error_rate?: MetricValue;
  /** True positive rate of the positive label set (needs ground truth). */
  tpr?: MetricValue;
  /** False positive rate of the positive label set (needs ground truth). */
  fpr?: MetricValue;
  /** Ground-truth positives (label in positive_labels): the TPR denominator. */
  n_positive?: number;
  /** Ground-truth negatives: the FPR denominator. */
  n_negative?: number;
  /** One-vs-rest TPR per class, keyed by label. */
  tpr_by_label?: Record<string, MetricValue>;
  /** One-vs-rest FPR per class, keyed by label. */
  fpr_by_label?: Record<string, MetricValue>;
  /** Mean of a numeric column: `mean_score`, `mean_reconstruction_error`, ... */
  [mean: `mean_${string}`]: MetricValue;
}

/** A disparity with its interval and the groups it is between. */
export interface Disparity extends MetricValue {
  /**
   * Between groups: [group with the largest value, group with the smallest]. To overall: [the group
   * farthest from overall, "overall"]. Null when fewer than two eligible groups.
   */
  groups: [string, string] | null;
  /** For label-wise disparities (multiclass demographic parity / equalized odds): the worst label. */
  label?: string;
}

export interface GroupSummary {
  name: string;
  count: number;
  /** count / number of observations. */
  share: number;
  /** Fewer than `min_group_size` observations: reported, but left out of disparities and verdicts. */
  insufficient_data: boolean;
}

/** A skew metric at one k and target, with the group that attains it. */
export interface SkewValue extends MetricValue {
  group: string;
}

export interface SkewAtKResult {
  /** max over groups of ln(top-k share / target share); 0 is parity, larger is more over-represented. */
  max_skew: SkewValue;
  /** min over groups of the same; 0 is parity, more negative is more under-represented. */
  min_skew: SkewValue;
  /** Normalized discounted KL divergence of the top-i shares from the target, i = 1..k (0 = parity). */
  ndkl: MetricValue;
  /** Each group's count in the top k (point estimate). */
  top_k_counts: Record<string, number>;
}

/** A hypothesis test that a rate or mean does not differ between the eligible groups. */
export interface HypothesisTest {
  /** The metric tested (`selection_rate`, `selection_rate_by_label`, `accuracy`, `mean_score`, ...). */
  metric: string;
  /**
   * `chi_square` (independence of group and outcome), `permutation` (max − min of group means) or,
   * above 100,000 rows, `anova_f` (one-way ANOVA F test of equal group means; df is the between-group df).
   */
  method: 'chi_square' | 'permutation' | 'anova_f';
  statistic: number;
  /** Degrees of freedom (chi-square) or number of permutations. */
  df?: number;
  n_permutations?: number;
  p_value: number;
  /** Holm-adjusted over every test of the audit (the tested family). */
  p_value_holm: number;
  /** p_value_holm < alpha (0.05). */
  significant: boolean;
}

/** Every number for one sensitive feature (an attribute or an intersection). */
export interface FeatureResult {
  /** `gender`, or `gender × race` for an intersection. */
  attribute: string;
  components: string[];
  groups: GroupSummary[];
  /** Groups with at least `min_group_size` observations: the ones disparities compare. */
  eligible_groups: string[];
  by_group: Record<string, GroupMetrics>;
  overall: GroupMetrics;
  /**
   * Fairlearn-named disparities (`demographic_parity_difference`, `demographic_parity_ratio`,
   * `equalized_odds_difference`, `equalized_odds_ratio`) and, for every scalar metric m,
   * `m_difference` (max − min), `m_ratio` (min / max), `m_difference_to_overall`
   * (max |group − overall|) and `m_ratio_to_overall` (min of group/overall and overall/group).
   */
  disparities: Record<string, Disparity>;
  /** The largest between-group difference among the rate metrics, named with its groups. */
  largest_disparity: { metric: string; label?: string; difference: number; groups: [string, string] } | null;
  /** Ranking skew per query, then per k (as a string), then per target. */
  skew?: Record<string, Record<string, Record<'uniform' | 'proportional', SkewAtKResult>>>;
  tests: HypothesisTest[];
}

/** Image-text association test result for one pair of groups and one pair of concept sets. */
export interface AssociationResult {
  attribute: string;
  /** Target sets: images of group X and of group Y. */
  x_group: string;
  y_group: string;
  /** Names of the concept prompt sets A and B. */
  a_concept: string;
  b_concept: string;
  n_x: number;
  n_y: number;
  /** Cohen's-d style effect size (positive: X closer to A than Y is). */
  effect_size: MetricValue;
  p_value: number;
  p_value_holm: number;
  n_permutations: number;
}

/** An audit kind registered in src/bias/registry.ts: zero-shot, classification, retrieval, association, reconstruction, predictions, ... */
export type AuditKind = string;

/** What the model was asked: labels, prompts and templates (disclosed so the audit can be judged). */
export interface PromptDisclosure {
  labels?: string[];
  templates?: string[];
  /** Labels flagged as harmful in the spec (their combined rate is `selection_rate`). */
  harmful_labels?: string[];
  /** Positive label set that `selection_rate`, `tpr`, `fpr` refer to. */
  positive_labels?: string[];
  queries?: string[];
  concepts?: Record<string, string[]>;
}

export interface AuditResult {
  /** Audit id, unique in the run (the kind, or the spec's `id`). */
  id: string;
  kind: AuditKind;
  title: string;
  description: string;
  /** The audit's parameters as given in the spec (after defaults). */
  parameters: Record<string, unknown>;
  disclosure: PromptDisclosure;
  /** Observations that entered the metrics (images that failed are listed in `failures`). */
  n_observations: number;
  features: FeatureResult[];
  associations?: AssociationResult[];
  /** Images the model could not process (recorded, not fatal). */
  failures: { file: string; error: string }[];
  /** Model inference statistics (cache hits make re-runs free); null for `predictions`. */
  inference: { images_inferred: number; cache_hits: number } | null;
}

/** A threshold check's verdict (see src/bias/thresholds.ts and docs/bias.md for the policy). */
export type VerdictStatus = 'pass' | 'inconclusive' | 'fail';

/** The run's verdict: the worst check, or not_judged when the spec sets no thresholds. */
export type RunVerdict = VerdictStatus | 'not_judged';

/** Something left out of the metrics, with its reason: nothing is dropped silently. */
export interface Exclusion {
  audit: string;
  /** `group`: a group left out of disparities; `rate`: a rate undefined for a group (so left out of that metric's disparities); `rows`: input rows dropped; `images`: images the model could not process. */
  what: 'group' | 'rate' | 'rows' | 'images';
  attribute?: string;
  group?: string;
  metric?: string;
  /** Rows, images or observations concerned. */
  count: number;
  reason: string;
}

/** One threshold evaluated on one audit, feature (and query/k/target for skew). */
export interface ThresholdVerdict {
  /** The threshold as written in the spec, e.g. `demographic_parity_ratio >= 0.8`. */
  threshold: string;
  audit: string;
  attribute: string;
  /** `query @ k [target]` for skew metrics; the group for per-group metrics. */
  scope?: string;
  metric: string;
  value: number | null;
  ci: [number | null, number | null] | null;
  /**
   * fail: the whole interval violates the threshold (or, with fail_on significant, the value does and
   * the metric's Holm-adjusted test is significant). pass: the whole interval satisfies it and every
   * group was covered. inconclusive: anything else (straddling interval, no value, small groups,
   * too few ground-truth positives/negatives).
   */
  status: VerdictStatus;
  reason: string;
  /** How a fail is decided: `interval` (default) or `significant`. */
  fail_on?: 'interval' | 'significant';
  /**
   * The check as structured fields, so readers (reports, model cards) never parse `threshold`:
   * `metric comparison bound`.
   */
  comparison: '<=' | '>=' | '<' | '>';
  bound: number;
  /** The groups the value is about: a disparity's pair (worst vs best), or the one group of a per-group check. */
  groups?: string[];
  /** The label a per-label disparity is worst for. */
  label?: string;
}

export interface BiasResult extends ResultEnvelope {
  schema: 'vigil/bias';
  name: string;
  /**
   * The spec as validated (with defaults and command-line overrides), its file and the sha256 of
   * the file's bytes. A `--predictions` run records the spec built from its options (path
   * "the --predictions options", sha256 of that document's JSON).
   */
  spec: { path: string; sha256: string; document: Record<string, unknown> } | null;
  /** The model folder, its content hash and the execution provider that ran it. */
  model: { path: string; kind: string; sha256: string; provider: string } | null;
  probe_set: {
    root: string;
    format: string;
    /** sha256 over the sorted (file sha256, labels) rows: identifies the exact probe set. */
    manifest_sha256: string;
    n_rows: number;
    /** Rows left out because of validation problems (listed in `problems`). */
    n_excluded: number;
    problems: { line: number | null; column: string | null; value: string | null; message: string }[];
  } | null;
  /** Predictions CSV of a bring-your-own-model run (the first `predictions` audit of a spec). */
  predictions: {
    path: string;
    sha256: string;
    /** Rows that entered the metrics. */
    n_rows: number;
    /** Rows left out because of problems (listed in `problems`). */
    n_excluded: number;
    /** Column roles: sensitive, label, prediction, score. */
    columns: Record<string, string | string[] | null>;
    problems: { line: number | null; column: string | null; value: string | null; message: string }[];
  } | null;
  settings: {
    seed: number;
    n_boot: number;
    ci_level: number;
    min_group_size: number;
    n_permutations: number;
    alpha: number;
    /** Ground-truth positives (negatives) each group needs for a TPR (FPR) based pass. */
    min_positives?: number;
    /** How intervals are computed: `bca` (bias-corrected and accelerated bootstrap). */
    interval_method?: string;
    /** Equalized-odds aggregation: worst_case (max of the TPR and FPR disparities) or mean (their mean), Fairlearn's `agg`. */
    equalized_odds_agg?: 'worst_case' | 'mean';
    sensitive: string[];
    intersections: string[][];
    ks: number[];
  };
  audits: AuditResult[];
  verdicts: ThresholdVerdict[];
  /** fail if any check fails, else inconclusive if any is, else pass; not_judged when the spec has no thresholds. */
  verdict: RunVerdict;
  /** Every excluded group, dropped row, undefined rate and failed image, with its reason. */
  exclusions: Exclusion[];
  limitations: string[];
}
