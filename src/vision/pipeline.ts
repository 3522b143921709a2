import { readFile } from 'node:fs/promises';
import { errorMessage, invalidArgument } from '../core/errors.js';
import { sha256Hex } from '../core/files.js';
import { ObservationCache, resolveCacheDir } from './cache.js';
import { imagePathsOf, preprocessImage, type PreprocessedImage } from './images.js';
import type { ExecutionProvider, ImageFailure, ImageInput, ObservationBase, RunOptions, VisionModel } from './types.js';

export const DEFAULT_BATCH_SIZE = 8;

/**
 * One kind of per-image model output. `infer` runs a batch of preprocessed images (NCHW float32,
 * `count` images) and returns one Float32Array per image; that raw output is what the cache
 * stores, and `finish` turns it into the observation.
 */
export interface ImageTask<T extends ObservationBase> {
  /** Names the output in the cache key (e.g. `vit-logits`, `mae-errors:seed=1:masks=4`). */
  output: string;
  infer(pixels: Float32Array, count: number): Promise<Float32Array[]>;
  finish(raw: Float32Array, base: ObservationBase): T;
  /**
   * For inputs whose size varies per image (DETR's shortest/longest-edge resize): preprocessing of
   * one image, and inference over a batch of such images, replacing `infer`'s fixed-size packing.
   */
  variableSize?: {
    preprocess(bytes: Uint8Array, name: string): Promise<PreprocessedImage>;
    infer(images: PreprocessedImage[]): Promise<Float32Array[]>;
  };
}

/** An image source resolved from the inputs: something to read, or an input that failed to expand. */
type Source = { file: string; read: () => Promise<Uint8Array> } | ImageFailure;

/** A source after reading, hashing, cache lookup and preprocessing. */
type Prepared =
  | { state: 'failed'; failure: ImageFailure }
  | { state: 'cached'; file: string; sha256: string; provider: ExecutionProvider; raw: Float32Array }
  | { state: 'ready'; file: string; sha256: string; image: PreprocessedImage };

export function validateRunOptions(options: RunOptions): { batchSize: number; prefetch: number } {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw invalidArgument('batchSize', 'a positive integer', batchSize);
  const prefetch = options.prefetch ?? 2 * batchSize;
  if (!Number.isInteger(prefetch) || prefetch < 1) throw invalidArgument('prefetch', 'a positive integer', prefetch);
  if (options.cacheDir !== undefined && options.cacheDir !== false && typeof options.cacheDir !== 'string') {
    throw invalidArgument('cacheDir', 'a folder path or false', options.cacheDir);
  }
  return { batchSize, prefetch };
}

/**
 * Streams one observation per image, in input order. Reading, hashing, cache lookups and sharp
 * preprocessing run ahead of inference for up to `prefetch` images (sharp works on libuv's thread
 * pool while onnxruntime runs), images missing from the cache are batched to `batchSize`, and
 * nothing accumulates beyond that window, so memory does not grow with the number of images.
 */
export async function* runImages<T extends ObservationBase>(
  model: VisionModel,
  inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>,
  options: RunOptions,
  task: ImageTask<T>,
): AsyncGenerator<T | ImageFailure> {
  const { batchSize, prefetch } = validateRunOptions(options);
  const cacheDir = resolveCacheDir(options.cacheDir);
  const cache =
    cacheDir === null
      ? null
      : new ObservationCache(cacheDir, { modelSha256: model.sha256, preprocessingKey: model.preprocessingKey, output: task.output });
  const { height, width } = model.preprocessing.inputSize;
  const imageSize = 3 * height * width;

  const prepare = async (source: Source): Promise<Prepared> => {
    if ('error' in source) return { state: 'failed', failure: source };
    let sha256: string | null = null;
    try {
      const bytes = await source.read();
      sha256 = sha256Hex(bytes);
      const hit = cache ? await cache.get(sha256) : undefined;
      if (hit) return { state: 'cached', file: source.file, sha256, provider: hit.provider, raw: hit.values };
      const image = task.variableSize
        ? await task.variableSize.preprocess(bytes, source.file)
        : await preprocessImage(bytes, model.preprocessing, { pixelLimit: model.pixelLimit, name: source.file });
      return { state: 'ready', file: source.file, sha256, image };
    } catch (error) {
      const message = errorMessage(error);
      return {
        state: 'failed',
        failure: { file: source.file, sha256, error: message.startsWith(source.file) ? message : `${source.file}: ${message}` },
      };
    }
  };

  const sources = expandSources(inputs)[Symbol.asyncIterator]();
  const window: Promise<Prepared>[] = [];
  let exhausted = false;
  const refill = async (): Promise<void> => {
    while (!exhausted && window.length < prefetch) {
      const next = await sources.next();
      if (next.done) exhausted = true;
      else window.push(prepare(next.value));
    }
  };

  // Items waiting for the batch in progress, in input order; cached/failed items after the first
  // ready one wait with it so the output order is the input order.
  let pending: Prepared[] = [];
  let readyCount = 0;
  const flush = async function* (): AsyncGenerator<T | ImageFailure> {
    const ready = pending.filter((p): p is Extract<Prepared, { state: 'ready' }> => p.state === 'ready');
    let outputs: Float32Array[] = [];
    if (ready.length > 0) {
      const pixels = task.variableSize ? null : new Float32Array(ready.length * imageSize);
      ready.forEach((p, i) => pixels?.set(p.image.data, i * imageSize));
      // onnxruntime-node runs on this thread and blocks it; first let one event-loop turn pass so
      // finished reads/decodes queue their next step on libuv's pool, which works on during inference.
      await new Promise((resolve) => setImmediate(resolve));
      outputs = pixels ? await task.infer(pixels, ready.length) : await task.variableSize!.infer(ready.map((p) => p.image));
      model.stats.imagesInferred += ready.length;
      model.stats.batchesRun += 1;
      if (cache) await Promise.all(ready.map((p, i) => cache.set(p.sha256, { provider: model.provider, values: outputs[i] })));
    }
    const batch = pending;
    pending = [];
    readyCount = 0;
    let r = 0;
    for (const item of batch) {
      options.onImage?.();
      if (item.state === 'failed') yield item.failure;
      else if (item.state === 'cached') {
        model.stats.cacheHits += 1;
        yield task.finish(item.raw, { file: item.file, sha256: item.sha256, provider: item.provider, cached: true });
      } else {
        yield task.finish(outputs[r++], { file: item.file, sha256: item.sha256, provider: model.provider, cached: false });
      }
    }
  };

  await refill();
  while (window.length > 0) {
    const item = await window.shift()!;
    await refill();
    pending.push(item);
    if (item.state === 'ready') readyCount += 1;
    // Flush when a batch is full, when nothing waits on inference, or when cached/failed items
    // queue up behind a partial batch (bounds memory for long runs of cache hits).
    if (readyCount === batchSize || readyCount === 0 || pending.length >= batchSize + prefetch) yield* flush();
  }
  if (pending.length > 0) yield* flush();
}

/** Turns inputs into sources lazily: paths are expanded (file, folder, glob) as the stream reaches them. */
async function* expandSources(inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>): AsyncGenerator<Source> {
  for await (const input of inputs) {
    if (typeof input === 'string') {
      // A folder is streamed from the walker: its first image is read while the rest is still being listed.
      let count = 0;
      try {
        for await (const file of imagePathsOf(input)) {
          count += 1;
          yield { file, read: () => readFile(file) };
        }
      } catch (error) {
        yield { file: String(input), sha256: null, error: `${String(input)}: ${errorMessage(error)}` };
        continue;
      }
      if (count === 0) {
        yield { file: input, sha256: null, error: `${input}: no such file, or no image files in that folder or glob` };
      }
    } else if (input !== null && typeof input === 'object' && typeof input.name === 'string' && input.bytes instanceof Uint8Array) {
      const bytes = input.bytes;
      yield { file: input.name, read: async () => bytes };
    } else {
      yield { file: String(input), sha256: null, error: `Expected a path or {name, bytes} image input but received ${typeof input}` };
    }
  }
}
