/**
 * What an audit kind's `observe` step may use: the run's probe set and model (loaded once per run),
 * lazily computed CLIP embeddings shared by the audits of one run, the spec's folder for relative
 * paths, and a progress factory. Audit functions themselves never see this: they get observations.
 */
import { resolve } from 'node:path';
import { VigilInputError } from '../core/errors.js';
import type { ProbeRow, ProbeSet } from '../probes/index.js';
import { embedTexts } from '../vision/index.js';
import type { ClipModel, ImageInput, ObservationBase, Observed, VisionModel } from '../vision/index.js';
import type { Progress } from '../core/progress.js';
import { expandPrompts } from './audits/clip.js';
import type { EmbeddedImage, FailedImage } from './audits/inputs.js';
import type { ImageObserver } from './observer.js';

/** Opens a progress display (the CLI's bar, or nothing); passed in so audit code opens none itself. */
export type ProgressFactory = (label: string, total: number) => Progress;

export const noProgress: ProgressFactory = () => ({ setTotal() {}, increment() {}, stop() {} });

export interface RunContextOptions {
  /** Folder that relative paths of the spec resolve against. */
  baseDir: string;
  seed: number;
  sensitive: string[];
  progress: ProgressFactory;
  model: VisionModel | null;
  probe: ProbeSet | null;
  cacheDir: string | false | undefined;
  observer: ImageObserver;
}

export class RunContext {
  private embedded: Promise<{ images: EmbeddedImage[]; failures: FailedImage[] }> | null = null;

  constructor(readonly options: RunContextOptions) {}

  get baseDir(): string {
    return this.options.baseDir;
  }

  get seed(): number {
    return this.options.seed;
  }

  get sensitive(): string[] {
    return this.options.sensitive;
  }

  get progress(): ProgressFactory {
    return this.options.progress;
  }

  get cacheDir(): string | false | undefined {
    return this.options.cacheDir;
  }

  get observer(): ImageObserver {
    return this.options.observer;
  }

  /** A spec path resolved against the spec's folder. */
  path(relative: string): string {
    return resolve(this.options.baseDir, relative);
  }

  /** The run's model; the spec check guarantees one when an audit kind requires it. */
  get model(): VisionModel {
    if (!this.options.model) throw new VigilInputError('This audit needs a model (set model: in the spec)');
    return this.options.model;
  }

  get probe(): ProbeSet {
    if (!this.options.probe) throw new VigilInputError('This audit needs a probe set (set probe_set: in the spec)');
    return this.options.probe;
  }

  /** Images inferred and cache hits so far (an audit's `inference` is the difference over its observe step). */
  inference(): { images_inferred: number; cache_hits: number } {
    if (!this.options.model) return { images_inferred: 0, cache_hits: 0 };
    const stats = this.options.observer.stats(this.options.model);
    return { images_inferred: stats.imagesInferred, cache_hits: stats.cacheHits };
  }

  get inputs(): ImageInput[] {
    return this.probe.rows.map((row) => row.path);
  }

  clip(kind: string): ClipModel {
    const model = this.model;
    if (model.kind !== 'clip') throw new VigilInputError(`Audit kind ${kind} needs a CLIP model but ${model.dir} holds a ${model.kind} model`);
    return model;
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
    const rows = this.probe.rows;
    const progress = this.options.progress(label, rows.length);
    const observed: Item[] = [];
    const failures: FailedImage[] = [];
    let i = 0;
    try {
      for await (const obs of stream(() => progress.increment())) {
        const row = rows[i++];
        if (obs.error === undefined) observed.push(observe(row, obs));
        else failures.push({ file: row.file, error: obs.error });
      }
    } finally {
      progress.stop();
    }
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
