/**
 * Runs an audit spec: loads the probe set and the model once (when a registered audit kind needs
 * them), lets every audit kind of the registry observe (model outputs come from the vision stack's
 * on-disk cache when present), runs its pure audit function, evaluates the thresholds and
 * assembles the results document.
 */
import { resolve } from 'node:path';
import { createProgress } from '../core/progress.js';
import { resultEnvelope } from '../core/results.js';
import { loadProbeSet, type ProbeSet } from '../probes/index.js';
import { loadModel, type VisionModel } from '../vision/index.js';
import type { AuditSettings, Observation } from './audits/common.js';
import { RunContext, type ProgressFactory } from './context.js';
import { AUDIT_KINDS, auditKind } from './registry.js';
import type { LoadedSpec } from './spec.js';
import { collectExclusions, describeExclusion } from './exclusions.js';
import type { AuditResult, BiasResult } from './result.js';
import { evaluateThresholds, overallVerdict } from './thresholds.js';
import { localObserver, type ImageObserver } from './observer.js';

export interface RunBiasOptions {
  quiet: boolean;
  /** Overrides the spec's cache_dir; false disables the cache. */
  cacheDir?: string | false;
  /** Where probe images go through the model (default: this process; `vigil bias --queue`: workers). */
  observer?: ImageObserver;
}

export interface AuditObservations {
  audit: string;
  observations: readonly Observation[];
}

export interface BiasRun {
  result: BiasResult;
  observations: AuditObservations[];
}

function limitations(result: Omit<BiasResult, 'limitations'>, settings: AuditSettings): string[] {
  const notes = [
    'Group labels are annotations of perceived attributes, not self-identification; metrics describe the model on this probe set only.',
    `Intervals are ${Math.round(settings.ciLevel * 100)}% bias-corrected and accelerated (BCa) bootstrap intervals (${settings.nBoot} replicates, stratified by the cross of all sensitive attributes, seed ${settings.seed}, acceleration from a grouped jackknife); they assume observations are independent.`,
    `Groups with fewer than ${settings.minGroupSize} observations are reported but left out of disparities; a check that cannot cover them is inconclusive.`,
  ];
  for (const audit of result.audits) {
    const kind = AUDIT_KINDS.find((k) => k.kind === audit.kind);
    notes.push(...(kind?.notes?.(audit) ?? []));
    if (kind?.notes === undefined && audit.features.some((f) => f.skew)) {
      notes.push(`${audit.id}: ranking ties are broken by input order; skew uses the natural log and counts a group absent from the top k as 1/k.`);
    }
  }
  notes.push(...result.exclusions.map(describeExclusion));
  return notes;
}

export async function runBias(loaded: LoadedSpec, options: RunBiasOptions): Promise<BiasRun> {
  const { spec, baseDir } = loaded;
  const progress: ProgressFactory = (label, total) => createProgress(label, { quiet: options.quiet, total });
  const settings: AuditSettings = {
    seed: spec.seed,
    nBoot: spec.n_boot,
    ciLevel: spec.ci_level,
    minGroupSize: spec.min_group_size,
    nPermutations: spec.n_permutations,
    alpha: spec.alpha,
    equalizedOddsAgg: spec.equalized_odds_agg,
    sensitive: spec.sensitive,
    intersections: spec.intersections,
    progress,
  };
  const cacheDir = options.cacheDir ?? (spec.cache_dir === undefined ? undefined : resolve(baseDir, spec.cache_dir));
  const kinds = spec.audits.map((entry) => auditKind(entry.kind));
  let probe: ProbeSet | null = null;
  let model: VisionModel | null = null;
  if (kinds.some((k) => k.requires.probeSet) && spec.probe_set !== undefined) {
    probe = await loadProbeSet(resolve(baseDir, spec.probe_set.path), {
      format: spec.probe_set.format,
      fileColumn: spec.probe_set.file_column,
      labelColumn: spec.probe_set.label_column,
      required: spec.sensitive,
      ageBins: spec.probe_set.age_bins,
      quiet: options.quiet,
    });
  }
  if (kinds.some((k) => k.requires.models.length > 0) && spec.model !== undefined) {
    model = await loadModel(resolve(baseDir, spec.model), { device: spec.device });
  }
  const ctx = new RunContext({ baseDir, seed: spec.seed, sensitive: spec.sensitive, progress, model, probe, cacheDir, observer: options.observer ?? localObserver });
  const audits: AuditResult[] = [];
  const observations: AuditObservations[] = [];
  let source: BiasResult['predictions'] = null;
  try {
    for (const [i, entry] of spec.audits.entries()) {
      const kind = kinds[i];
      const id = entry.id ?? entry.kind;
      const before = ctx.inference();
      const observed = await kind.observe(entry, ctx);
      const after = ctx.inference();
      const output = kind.audit(observed, { ...entry, id }, settings);
      const inference = kind.requires.models.length > 0 ? { images_inferred: after.images_inferred - before.images_inferred, cache_hits: after.cache_hits - before.cache_hits } : null;
      audits.push({ ...output.result, inference });
      observations.push({ audit: id, observations: output.observations });
      source ??= kind.source?.(observed, entry) ?? null;
    }
  } finally {
    await model?.release();
  }
  const verdicts = evaluateThresholds(loaded.thresholds, audits, { alpha: spec.alpha, minPositives: spec.min_positives });
  const partial: Omit<BiasResult, 'limitations'> = {
    ...resultEnvelope('bias'),
    schema: 'vigil/bias',
    name: spec.name,
    spec: { path: loaded.path, sha256: loaded.sha256, document: spec as unknown as Record<string, unknown> },
    model: model ? { path: model.dir, kind: model.kind, sha256: model.sha256, provider: model.provider } : null,
    probe_set: probe
      ? {
          root: probe.root,
          format: probe.format,
          manifest_sha256: probe.manifestSha256,
          n_rows: probe.rows.length,
          n_excluded: probe.nRowsRead - probe.rows.length,
          problems: probe.problems,
        }
      : null,
    predictions: source,
    settings: {
      seed: settings.seed,
      n_boot: settings.nBoot,
      ci_level: settings.ciLevel,
      min_group_size: settings.minGroupSize,
      n_permutations: settings.nPermutations,
      alpha: settings.alpha,
      min_positives: spec.min_positives,
      interval_method: 'bca',
      equalized_odds_agg: spec.equalized_odds_agg,
      sensitive: settings.sensitive,
      intersections: settings.intersections,
      ks: [...new Set(audits.flatMap((a) => (Array.isArray(a.parameters.k) ? (a.parameters.k as number[]) : [])))].sort((x, y) => x - y),
    },
    audits,
    verdicts,
    verdict: overallVerdict(verdicts),
    exclusions: collectExclusions(audits, source, probe),
  };
  return { result: { ...partial, limitations: limitations(partial, settings) }, observations };
}
