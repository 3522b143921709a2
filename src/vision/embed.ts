import type { ClipModel, EmbeddingObservation, ImageInput, Observed, RunOptions } from './types.js';

/** Streams L2-normalised CLIP image embeddings, one observation per input image, in input order. */
export function embedImages(
  _model: ClipModel,
  _inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>,
  _options: RunOptions = {},
): AsyncIterable<Observed<EmbeddingObservation>> {
  throw new Error('vision: embedImages is being implemented');
}

/** L2-normalised CLIP text embeddings (tokenized with tokenizer.json, padded/truncated to the context). */
export async function embedTexts(_model: ClipModel, _texts: readonly string[]): Promise<Float32Array[]> {
  throw new Error('vision: embedTexts is being implemented');
}
