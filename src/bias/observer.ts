/**
 * Where a bias run's per-image model work happens. Locally, the vision stack's streams; with
 * `vigil bias --queue`, `vigil worker` processes through Redis (src/queue/observations.ts). Both
 * stream one observation per input, in input order, so the audits cannot tell them apart.
 */
import { classify, embedImages, reconstruct } from '../vision/index.js';
import type {
  ClassificationObservation,
  ClassifyOptions,
  ClipModel,
  EmbeddingObservation,
  ImageInput,
  MaeModel,
  Observed,
  ReconstructionObservation,
  ReconstructOptions,
  RunOptions,
  VisionModel,
  VitModel,
} from '../vision/index.js';

export interface ImageObserver {
  embedImages(model: ClipModel, inputs: readonly ImageInput[], options: RunOptions): AsyncIterable<Observed<EmbeddingObservation>>;
  classify(model: VitModel | ClipModel, inputs: readonly ImageInput[], options: ClassifyOptions): AsyncIterable<Observed<ClassificationObservation>>;
  reconstruct(model: MaeModel, inputs: readonly ImageInput[], options: ReconstructOptions): AsyncIterable<Observed<ReconstructionObservation>>;
  /** Images run through a model so far and observations served from a cache (results' `inference`). */
  stats(model: VisionModel): { imagesInferred: number; cacheHits: number };
}

/** Runs the model in this process. */
export const localObserver: ImageObserver = {
  embedImages,
  classify,
  reconstruct,
  stats: (model) => ({ imagesInferred: model.stats.imagesInferred, cacheHits: model.stats.cacheHits }),
};
