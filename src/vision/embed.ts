import ort from 'onnxruntime-node';
import { invalidArgument, VigilInputError } from '../core/errors.js';
import { floatOutput, pixelFeed, textFeeds } from './feeds.js';
import { tokenizerOf } from './model.js';
import { runImages, type ImageTask } from './pipeline.js';
import type { ClipModel, EmbeddingObservation, ImageInput, ObservationBase, Observed, RunOptions } from './types.js';

/** Streams L2-normalised CLIP image embeddings, one observation per input image, in input order. */
export function embedImages(
  model: ClipModel,
  inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>,
  options: RunOptions = {},
): AsyncIterable<Observed<EmbeddingObservation>> {
  requireClip(model, 'embedImages');
  return runImages(model, inputs, options, imageEmbeddingTask(model, (raw, base) => ({ ...base, embedding: raw })));
}

/**
 * The CLIP image tower as a pipeline task; its raw output (the normalised embedding) is shared in
 * the cache by embedImages and zero-shot classify.
 */
export function imageEmbeddingTask<T extends ObservationBase>(
  model: ClipModel,
  finish: (raw: Float32Array, base: ObservationBase) => T,
): ImageTask<T> {
  return {
    output: 'clip-image-embeds-normalized',
    infer: async (pixels, count) => {
      const { height, width } = model.preprocessing.inputSize;
      const { io } = model;
      const feeds: Record<string, ort.Tensor> = { [io.pixels]: pixelFeed(model.graphs[0], io.pixels, pixels, count, height, width) };
      if (model.combined) Object.assign(feeds, clipTextFeeds(model, ['']));
      const result = await model.visionSession.run(feeds, [io.imageEmbeds]);
      return splitRows(result[io.imageEmbeds], count, io.imageEmbeds, model).map(normalize);
    },
    finish,
  };
}

/** L2-normalised CLIP text embeddings (tokenized with tokenizer.json, padded/truncated to the context). */
export async function embedTexts(model: ClipModel, texts: readonly string[]): Promise<Float32Array[]> {
  requireClip(model, 'embedTexts');
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw invalidArgument('texts', 'an array of strings', texts);
  if (texts.length === 0) return [];
  // textFeeds has thrown already for a folder with only an image tower (no tokenizer, no text session).
  const feeds: Record<string, ort.Tensor> = clipTextFeeds(model, texts);
  const textSession = model.textSession!;
  const { io } = model;
  if (model.combined) {
    const { height, width } = model.preprocessing.inputSize;
    feeds[io.pixels] = pixelFeed(model.graphs[0], io.pixels, new Float32Array(3 * height * width), 1, height, width);
  }
  const result = await textSession.run(feeds, [io.textEmbeds]);
  return splitRows(result[io.textEmbeds], texts.length, io.textEmbeds, model).map(normalize);
}

function clipTextFeeds(model: ClipModel, texts: readonly string[]): Record<string, ort.Tensor> {
  return textFeeds(model.graphs[model.graphs.length - 1], model.io, tokenizerOf(model), texts);
}

/**
 * Splits a [count, width] float output (fp16 outputs widened to float32) into per-row copies (rows
 * must not alias ORT's buffer).
 */
export function splitRows(output: ort.Tensor | undefined, count: number, name: string, model: { dir: string }): Float32Array[] {
  const tensor = output === undefined ? undefined : floatOutput(output, name, model.dir);
  if (!tensor || tensor.type !== 'float32' || tensor.dims.length !== 2 || tensor.dims[0] !== count) {
    throw new VigilInputError(
      `Model folder ${model.dir}: expected output "${name}" of shape [${count}, width] float32 but received ${tensor ? `${tensor.type} [${tensor.dims.join(', ')}]` : 'nothing'}`,
      { subject: model.dir },
    );
  }
  const width = tensor.dims[1];
  const data = tensor.data as Float32Array;
  return Array.from({ length: count }, (_, i) => data.slice(i * width, (i + 1) * width));
}

function normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] /= norm;
  return vector;
}

function requireClip(model: ClipModel, fn: string): void {
  if (model?.kind !== 'clip') throw invalidArgument(`${fn} model`, 'a CLIP model', model?.kind ?? model);
}
