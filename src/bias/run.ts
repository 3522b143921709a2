/**
 * Runs an audit spec: loads the probe set and the model once, gathers model outputs (image
 * embeddings and predictions come from the vision stack's on-disk cache when present), runs every
 * audit's pure function, evaluates the thresholds and assembles the results document.
 */
import { resolve } from 'node:path';
import { VigilInputError } from '../core/errors.js';
import { createProgress } from '../core/progress.js';
import { resultEnvelope } from '../core/results.js';
import { loadProbeSet, type ProbeRow, type ProbeSet } from '../probes/index.js';
import { embedTexts, loadModel } from '../vision/index.js';
import type { ClipModel, ImageInput, ObservationBase, Observed, VisionModel } from '../vision/index.js';
import { auditAssociation, observeAssociation } from './audits/association.js';
import { auditClassification } from './audits/classification.js';
import { expandPrompts, ensemble, zeroShotIndex } from './audits/clip.js';
import type { AuditSettings, Observation } from './audits/common.js';
import type { EmbeddedImage, FailedImage } from './audits/inputs.js';
import { auditPredictions, readPredictions, type PredictionsInput } from './audits/predictions.js';
import { auditReconstruction } from './audits/reconstruction.js';
import { auditRetrieval, observeRetrieval } from './audits/retrieval.js';
import { auditZeroShot, observeZeroShot } from './audits/zero-shot.js';
import type { AuditEntry, LoadedSpec } from './spec.js';
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
  observations: Observation[];
}

export interface BiasRun {
  result: BiasResult;
  observations: AuditObservations[];
}

/** Lazily computed model inputs shared by the audits of one run. */
class ModelContext {
  private embedded: Promise<{ images: EmbeddedImage[]; failures: FailedImage[] }> | null = null;

  constructor(
    readonly model: VisionModel,
    readonly probe: ProbeSet,
    readonly cacheDir: string | false | undefined,
    readonly quiet: boolean,
    readonly observer: ImageObserver,
  ) {}

  inference(): { images_inferred: number; cache_hits: number } {
    const stats = this.observer.stats(this.model);
    return { images_inferred: stats.imagesInferred, cache_hits: stats.cacheHits };
  }

  get inputs(): ImageInput[] {
    return this.probe.rows.map((row) => row.path);
  }

  clip(kind: string): ClipModel {
    if (this.model.kind !== 'clip') throw new VigilInputError(`Audit kind ${kind} needs a CLIP model but ${this.model.dir} holds a ${this.model.kind} model`);
    return this.model;
  }

  /**
   * Every probe image through one per-image vision stream (which keeps input order), each output
   * paired with its probe row; images the model cannot process are recorded and the run goes on.
   */
  async eachImage<Output extends ObservationBase, Item>(
    label: string,
    stream: (onImage: () => void) => AsyncIterable<Observed<Output>>,
    observe: (row: ProbeRow, output: Output) => Item,
  ): Promise<{ observed: Item[]; failures: FailedImage[] }> {
    const progress = createProgress(label, { quiet: this.quiet, total: this.probe.rows.length });
    const observed: Item[] = [];
    const failures: FailedImage[] = [];
    let i = 0;
    for await (const obs of stream(() => progress.increment())) {
      const row = this.probe.rows[i++];
      if (obs.error === undefined) observed.push(observe(row, obs));
      else failures.push({ file: row.file, error: obs.error });
    }
    progress.stop();
    return { observed, failures };
  }

  /** CLIP image embeddings of every probe image, computed (or read from cache) once per run. */
  embeddings(kind: string): Promise<{ images: EmbeddedImage[]; failures: FailedImage[] }> {
    const model = this.clip(kind);
    this.embedded ??= this.eachImage(
      'Embedding probe images',
      (onImage) => this.observer.embedImages(model, this.inputs, { cacheDir: this.cacheDir, onImage }),
      (row, obs): EmbeddedImage => ({ row, embedding: obs.embedding }),
    ).then(({ observed, failures }) => ({ images: observed, failures }));
    return this.embedded;
  }

  /** Probe-image embeddings with the CLIP text embeddings of every text × template prompt. */
  async promptedEmbeddings(
    kind: string,
    texts: readonly string[],
    templates: readonly string[],
  ): Promise<{ images: EmbeddedImage[]; failures: FailedImage[]; prompts: Float32Array[] }> {
    const model = this.clip(kind);
    const { images, failures } = await this.embeddings(kind);
    const prompts = await embedTexts(model, expandPrompts(texts, templates));
    return { images, failures, prompts };
  }
}

function auditId(entry: AuditEntry): string {
  return entry.id ?? entry.kind;
}

async function runModelAudit(entry: Exclude<AuditEntry, { kind: 'predictions' }>, ctx: ModelContext, settings: AuditSettings, seed: number): Promise<{ result: AuditResult; observations: Observation[] }> {
  const id = auditId(entry);
  const before = ctx.inference();
  const delta = (): AuditResult['inference'] => {
    const after = ctx.inference();
    return { images_inferred: after.images_inferred - before.images_inferred, cache_hits: after.cache_hits - before.cache_hits };
  };
  switch (entry.kind) {
    case 'zero-shot': {
      const { images, failures, prompts } = await ctx.promptedEmbeddings(entry.kind, entry.labels, entry.templates);
      const observations = observeZeroShot(images, entry.labels, entry.templates, prompts);
      const parameters = { id, labels: entry.labels, templates: entry.templates, harmful_labels: entry.harmful_labels };
      return { result: auditZeroShot(observations, parameters, settings, failures, delta()), observations };
    }
    case 'classification': {
      if (!ctx.probe.labelColumn) {
        throw new VigilInputError(`Audit ${id} (classification) needs ground truth but probe set ${ctx.probe.source} has no label column (set probe_set.label_column)`);
      }
      const failures: FailedImage[] = [];
      const observations: Observation[] = [];
      let labels: string[];
      let templates: string[] | undefined;
      if (ctx.model.kind === 'vit') {
        const vit = ctx.model;
        labels = entry.labels ?? vit.labels;
        const classified = await ctx.eachImage(
          `${id}: classifying`,
          (onImage) => ctx.observer.classify(vit, ctx.inputs, { labels, top: 1, cacheDir: ctx.cacheDir, onImage }),
          (row, obs): Observation => ({ file: row.file, sha256: row.sha256, attributes: row.attributes, truth: row.label as string, prediction: obs.top[0].label, values: {}, scores: {} }),
        );
        failures.push(...classified.failures);
        observations.push(...classified.observed);
      } else {
        ctx.clip(entry.kind); // a model of the wrong kind is reported before missing labels
        if (!entry.labels) throw new VigilInputError(`Audit ${id}: classification with a CLIP model needs labels (the zero-shot classes)`);
        labels = entry.labels;
        templates = entry.templates ?? ['a photo of a {label}.'];
        const { images, failures: embedFailures, prompts } = await ctx.promptedEmbeddings(entry.kind, labels, templates);
        failures.push(...embedFailures);
        const labelEmbeddings = ensemble(prompts, labels.length, templates.length);
        for (const { row, embedding } of images) {
          observations.push({ file: row.file, sha256: row.sha256, attributes: row.attributes, truth: row.label as string, prediction: labels[zeroShotIndex(embedding, labelEmbeddings)], values: {}, scores: {} });
        }
      }
      const parameters = {
        id,
        labels,
        predictor: ctx.model.kind === 'vit' ? ('vit' as const) : ('clip' as const),
        ...(templates ? { templates } : {}),
        ...(entry.positive_labels ? { positive_labels: entry.positive_labels } : {}),
      };
      return { result: auditClassification(observations, parameters, settings, failures, delta()), observations };
    }
    case 'retrieval': {
      const { images, failures, prompts } = await ctx.promptedEmbeddings(entry.kind, entry.queries, entry.templates);
      const observations = observeRetrieval(images, entry.queries, entry.templates, prompts);
      const parameters = { id, queries: entry.queries, templates: entry.templates, k: entry.k };
      return { result: auditRetrieval(observations, parameters, settings, failures, delta()), observations };
    }
    case 'association': {
      const model = ctx.clip(entry.kind);
      const { images, failures } = await ctx.embeddings(entry.kind);
      const [a, b] = Object.values(entry.concepts);
      const observations = observeAssociation(images, await embedTexts(model, a), await embedTexts(model, b));
      const parameters = { id, attribute: entry.attribute, x_group: entry.x_group, y_group: entry.y_group, concepts: entry.concepts };
      return { result: auditAssociation(observations, parameters, settings, failures, delta()), observations };
    }
    case 'reconstruction': {
      if (ctx.model.kind !== 'mae') throw new VigilInputError(`Audit kind reconstruction needs an MAE model but ${ctx.model.dir} holds a ${ctx.model.kind} model`);
      const mae = ctx.model;
      const { observed: observations, failures } = await ctx.eachImage(
        `${id}: reconstructing`,
        (onImage) => ctx.observer.reconstruct(mae, ctx.inputs, { seed, masks: entry.masks, cacheDir: ctx.cacheDir, onImage }),
        (row, obs): Observation => ({ file: row.file, sha256: row.sha256, attributes: row.attributes, values: { reconstruction_error: obs.reconstructionError }, scores: {} }),
      );
      return { result: auditReconstruction(observations, { id, masks: entry.masks, seed }, settings, failures, delta()), observations };
    }
  }
}

function limitations(result: Omit<BiasResult, 'limitations'>, settings: AuditSettings): string[] {
  const notes = [
    'Group labels are annotations of perceived attributes, not self-identification; metrics describe the model on this probe set only.',
    `Intervals are ${Math.round(settings.ciLevel * 100)}% percentile bootstrap intervals (${settings.nBoot} replicates, stratified by the cross of all sensitive attributes, seed ${settings.seed}); they assume observations are independent.`,
    `Groups with fewer than ${settings.minGroupSize} observations are reported but left out of disparities and verdicts.`,
  ];
  for (const audit of result.audits) {
    const small = audit.features.flatMap((f) => f.groups.filter((g) => g.insufficient_data).map((g) => `${f.attribute}=${g.name} (${g.count})`));
    if (small.length > 0) notes.push(`${audit.id}: insufficient data for ${small.join(', ')}.`);
    if (audit.failures.length > 0) notes.push(`${audit.id}: ${audit.failures.length} image(s) could not be processed and are not in the metrics.`);
    if (audit.kind === 'zero-shot' || audit.kind === 'retrieval' || audit.kind === 'association') {
      notes.push(`${audit.id}: results hold for the disclosed labels, prompts and templates only; other wordings can change them.`);
    }
    if (audit.kind === 'retrieval' || audit.features.some((f) => f.skew)) {
      notes.push(`${audit.id}: ranking ties are broken by input order; skew uses the natural log and counts a group absent from the top k as 1/k.`);
    }
  }
  if (result.probe_set && result.probe_set.n_excluded > 0) notes.push(`${result.probe_set.n_excluded} probe-set row(s) failed validation and were left out (see probe_set.problems).`);
  if (result.predictions && result.predictions.n_excluded > 0) notes.push(`${result.predictions.n_excluded} prediction row(s) were left out (see predictions.problems).`);
  return notes;
}

export async function runBias(loaded: LoadedSpec, options: RunBiasOptions): Promise<BiasRun> {
  const { spec, baseDir } = loaded;
  const settings: AuditSettings = {
    seed: spec.seed,
    nBoot: spec.n_boot,
    ciLevel: spec.ci_level,
    minGroupSize: spec.min_group_size,
    nPermutations: spec.n_permutations,
    alpha: spec.alpha,
    sensitive: spec.sensitive,
    intersections: spec.intersections,
    quiet: options.quiet,
  };
  const cacheDir = options.cacheDir ?? (spec.cache_dir === undefined ? undefined : resolve(baseDir, spec.cache_dir));
  const needsModel = spec.audits.some((a) => a.kind !== 'predictions');
  let ctx: ModelContext | null = null;
  let probe: ProbeSet | null = null;
  if (needsModel && spec.model !== undefined && spec.probe_set !== undefined) {
    probe = await loadProbeSet(resolve(baseDir, spec.probe_set.path), {
      format: spec.probe_set.format,
      fileColumn: spec.probe_set.file_column,
      labelColumn: spec.probe_set.label_column,
      required: spec.sensitive,
      ageBins: spec.probe_set.age_bins,
      quiet: options.quiet,
    });
    const model = await loadModel(resolve(baseDir, spec.model), { device: spec.device });
    ctx = new ModelContext(model, probe, cacheDir, options.quiet, options.observer ?? localObserver);
  }
  const audits: AuditResult[] = [];
  const observations: AuditObservations[] = [];
  let predictionsInput: { input: PredictionsInput; columns: Record<string, string | string[] | null> } | null = null;
  try {
    for (const entry of spec.audits) {
      const id = auditId(entry);
      if (entry.kind === 'predictions') {
        const columns = { label: entry.label, prediction: entry.prediction, score: entry.score };
        const input = await readPredictions(resolve(baseDir, entry.file), spec.sensitive, columns);
        predictionsInput ??= { input, columns: { sensitive: spec.sensitive, label: entry.label ?? null, prediction: entry.prediction ?? null, score: entry.score ?? null } };
        const parameters = { id, file: entry.file, ...columns, ...(entry.k ? { k: entry.k } : {}), ...(entry.positive_labels ? { positive_labels: entry.positive_labels } : {}) };
        audits.push(auditPredictions(input, parameters, settings));
        observations.push({ audit: id, observations: input.observations });
      } else {
        const done = await runModelAudit(entry, ctx as ModelContext, settings, spec.seed);
        audits.push(done.result);
        observations.push({ audit: id, observations: done.observations });
      }
    }
  } finally {
    await ctx?.model.release();
  }
  const verdicts = evaluateThresholds(loaded.thresholds, audits);
  const partial: Omit<BiasResult, 'limitations'> = {
    ...resultEnvelope('bias'),
    schema: 'vigil/bias',
    name: spec.name,
    spec: { path: loaded.path, sha256: loaded.sha256, document: spec as unknown as Record<string, unknown> },
    model: ctx ? { path: ctx.model.dir, kind: ctx.model.kind, sha256: ctx.model.sha256, provider: ctx.model.provider } : null,
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
    predictions: predictionsInput
      ? {
          path: predictionsInput.input.path,
          sha256: predictionsInput.input.sha256,
          n_rows: predictionsInput.input.observations.length,
          n_excluded: predictionsInput.input.nRowsRead - predictionsInput.input.observations.length,
          columns: predictionsInput.columns,
          problems: predictionsInput.input.problems,
        }
      : null,
    settings: {
      seed: settings.seed,
      n_boot: settings.nBoot,
      ci_level: settings.ciLevel,
      min_group_size: settings.minGroupSize,
      n_permutations: settings.nPermutations,
      alpha: settings.alpha,
      sensitive: settings.sensitive,
      intersections: settings.intersections,
      ks: [...new Set(audits.flatMap((a) => (Array.isArray(a.parameters.k) ? (a.parameters.k as number[]) : [])))].sort((x, y) => x - y),
    },
    audits,
    verdicts,
    verdict: overallVerdict(verdicts),
  };
  return { result: { ...partial, limitations: limitations(partial, settings) }, observations };
}
