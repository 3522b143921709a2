import type { ClassificationObservation, ClassifyOptions, ClipModel, ImageInput, Observed, VitModel } from './types.js';

/**
 * Classifies images: a ViT with its own labels (optionally a subset), or CLIP zero-shot over the
 * given labels with prompt templates (ensembled). Streams one observation per image in input order.
 */
export function classify(
  _model: VitModel | ClipModel,
  _inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>,
  _options: ClassifyOptions = {},
): AsyncIterable<Observed<ClassificationObservation>> {
  throw new Error('vision: classify is being implemented');
}

/** The labels a classify run reports logits/probabilities for, in order (validates options). */
export function classLabels(_model: VitModel | ClipModel, _options: ClassifyOptions = {}): string[] {
  throw new Error('vision: classLabels is being implemented');
}
