/**
 * Running detection and segmentation models over images, through the vision stack's streaming
 * pipeline (prefetched sharp preprocessing, batching, the on-disk observation cache keyed by model,
 * image and preprocessing), and transformers' post-processing:
 * - post_process_object_detection: softmax over classes + no-object, score and label = the best
 *   real class, kept when score > threshold, boxes from normalised (cx, cy, w, h) to corners in
 *   pixels of the ORIGINAL image (target_sizes), in query order;
 * - post_process_semantic_segmentation: logits bilinearly upsampled (align_corners = false) to the
 *   original image size, then the arg-max class per pixel.
 */
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { readFile } from 'node:fs/promises';
import { errorMessage, invalidArgument, VigilInputError } from '../core/errors.js';
import { preprocessImage, type PreprocessedImage } from '../vision/images.js';
import { runImages } from '../vision/pipeline.js';
import type { ImageFailure, ImageInput, ObservationBase, RunOptions, VisionModel } from '../vision/types.js';
import type { DenseModel } from './model.js';

export interface DetectedObject {
  label: string;
  /** Class index in id2label. */
  label_id: number;
  score: number;
  /** Corners in pixels of the original image (not clipped, as transformers leaves them). */
  box: { xmin: number; ymin: number; xmax: number; ymax: number };
}

export interface DetectionObservation extends ObservationBase {
  width: number;
  height: number;
  objects: DetectedObject[];
}

export interface SegmentationObservation extends ObservationBase {
  width: number;
  height: number;
  /** Class index per pixel, row-major (height × width). */
  labels: Uint8Array;
  /** Pixels per class (indexed like the model's labels). */
  pixels: number[];
}

/** transformers' post_process_object_detection for one image's raw outputs. */
export function postProcessDetection(
  logits: Float32Array,
  boxes: Float32Array,
  labels: readonly string[],
  size: { height: number; width: number },
  threshold: number,
): DetectedObject[] {
  const classes = labels.length + 1;
  const queries = logits.length / classes;
  const out: DetectedObject[] = [];
  for (let q = 0; q < queries; q++) {
    const row = logits.subarray(q * classes, (q + 1) * classes);
    let max = -Infinity;
    for (const v of row) if (v > max) max = v;
    let total = 0;
    for (const v of row) total += Math.exp(v - max);
    let best = 0;
    for (let c = 1; c < classes - 1; c++) if (row[c] > row[best]) best = c;
    const score = Math.exp(row[best] - max) / total;
    if (!(score > threshold)) continue;
    const [cx, cy, w, h] = boxes.subarray(q * 4, q * 4 + 4);
    out.push({
      label: labels[best],
      label_id: best,
      score,
      box: { xmin: (cx - 0.5 * w) * size.width, ymin: (cy - 0.5 * h) * size.height, xmax: (cx + 0.5 * w) * size.width, ymax: (cy + 0.5 * h) * size.height },
    });
  }
  return out;
}

/**
 * transformers' post_process_semantic_segmentation for one image: logits [C, h, w] upsampled
 * bilinearly (PyTorch's align_corners = false source indices) to height × width, then arg-max.
 */
export function postProcessSegmentation(logits: Float32Array, classes: number, h: number, w: number, height: number, width: number): Uint8Array {
  if (classes > 256) throw invalidArgument('classes', 'at most 256 classes (PNG label masks are 8-bit)', classes);
  const out = new Uint8Array(height * width);
  const index = (dst: number, scale: number, size: number): [number, number, number] => {
    const src = Math.max(0, scale * (dst + 0.5) - 0.5);
    const i0 = Math.min(Math.floor(src), size - 1);
    const i1 = i0 < size - 1 ? i0 + 1 : i0;
    return [i0, i1, src - i0];
  };
  const plane = h * w;
  const columns = Array.from({ length: width }, (_, x) => index(x, w / width, w));
  for (let y = 0; y < height; y++) {
    const [y0, y1, ly] = index(y, h / height, h);
    for (let x = 0; x < width; x++) {
      const [x0, x1, lx] = columns[x];
      let best = 0;
      let bestValue = -Infinity;
      for (let c = 0; c < classes; c++) {
        const base = c * plane;
        const top = (1 - lx) * logits[base + y0 * w + x0] + lx * logits[base + y0 * w + x1];
        const bottom = (1 - lx) * logits[base + y1 * w + x0] + lx * logits[base + y1 * w + x1];
        const v = (1 - ly) * top + ly * bottom;
        if (v > bestValue) {
          bestValue = v;
          best = c;
        }
      }
      out[y * width + x] = best;
    }
  }
  return out;
}

/**
 * The resized height and width of DetrImageProcessor's {shortest_edge, longest_edge} resize
 * (transformers' get_size_with_aspect_ratio): the short side becomes `shortest` unless the long
 * side would then exceed `longest`, in which case the long side becomes about `longest`; sides are
 * truncated to integers, and an image whose short side already has the size is left as it is.
 */
export function detrResizeSize(height: number, width: number, shortest: number, longest: number | null): { height: number; width: number } {
  let size = shortest;
  let raw: number | null = null;
  if (longest !== null) {
    const small = Math.min(height, width);
    const large = Math.max(height, width);
    if ((large / small) * size > longest) {
      raw = (longest * small) / large;
      size = Math.round(raw);
    }
  }
  if ((height <= width && height === size) || (width <= height && width === size)) return { height, width };
  if (width < height) return { height: Math.trunc(((raw ?? size) * height) / width), width: size };
  return { height: size, width: Math.trunc(((raw ?? size) * width) / height) };
}

/**
 * DetrImageProcessor's batch: images padded with zeros at the bottom and right to the largest
 * height and width of the batch, and pixel_mask 1 over each image's own pixels, 0 over padding.
 */
export function padBatch(images: readonly PreprocessedImage[]): { pixels: Float32Array; mask: BigInt64Array; height: number; width: number } {
  const height = Math.max(...images.map((i) => i.height));
  const width = Math.max(...images.map((i) => i.width));
  const plane = height * width;
  const pixels = new Float32Array(images.length * 3 * plane);
  const mask = new BigInt64Array(images.length * plane);
  images.forEach((image, b) => {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < image.height; y++) {
        const from = (c * image.height + y) * image.width;
        pixels.set(image.data.subarray(from, from + image.width), (b * 3 + c) * plane + y * width);
      }
    }
    for (let y = 0; y < image.height; y++) mask.fill(1n, b * plane + y * width, b * plane + y * width + image.width);
  });
  return { pixels, mask, height, width };
}

/** Width and height after EXIF orientation (what the model saw, and what boxes refer to). */
async function orientedSize(source: string | Uint8Array): Promise<{ width: number; height: number }> {
  const meta = await sharp(source, { limitInputPixels: false }).metadata();
  const swapped = (meta.orientation ?? 1) >= 5;
  return swapped ? { width: meta.height as number, height: meta.width as number } : { width: meta.width as number, height: meta.height as number };
}

/** One raw output per image through the shared pipeline, with each image's original size. */
async function* runDense(
  model: DenseModel,
  inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>,
  options: RunOptions,
  output: string,
  outputs: string[],
): AsyncGenerator<(ObservationBase & { raw: Float32Array[]; width: number; height: number }) | ImageFailure> {
  const { height, width } = model.preprocessing.inputSize;
  const named = new Map<string, Uint8Array>();
  const remember = async function* (): AsyncGenerator<ImageInput> {
    for await (const input of inputs) {
      if (typeof input !== 'string' && input && input.bytes instanceof Uint8Array) named.set(input.name, input.bytes);
      yield input;
    }
  };
  const run = async (feeds: Record<string, ort.Tensor>, count: number): Promise<Float32Array[]> => {
    const result = await model.session.run(feeds, outputs);
    const tensors = outputs.map((name) => result[name]);
    // Each image's outputs, joined in `outputs` order.
    const total = tensors.reduce((s, t) => s + t.data.length / count, 0);
    return Array.from({ length: count }, (_, i) => {
      const joined = new Float32Array(total);
      let at = 0;
      for (const t of tensors) {
        const per = t.data.length / count;
        joined.set((t.data as Float32Array).subarray(i * per, (i + 1) * per), at);
        at += per;
      }
      return joined;
    });
  };
  const variable = model.variableSize;
  const stream = runImages(model as unknown as VisionModel, remember(), options, {
    output,
    infer: (pixels, count) => {
      const feeds: Record<string, ort.Tensor> = { pixel_values: new ort.Tensor('float32', pixels, [count, 3, height, width]) };
      // Images are resized to the fixed input size and never padded, so every pixel is valid.
      if (model.pixelMask) feeds.pixel_mask = new ort.Tensor('int64', new BigInt64Array(count * height * width).fill(1n), [count, height, width]);
      return run(feeds, count);
    },
    finish: (raw, base) => ({ ...base, raw: [raw], width: 0, height: 0 }),
    ...(variable
      ? {
          variableSize: {
            preprocess: async (bytes: Uint8Array, name: string) => {
              const size = await orientedSize(bytes);
              const resize = detrResizeSize(size.height, size.width, variable.shortestEdge, variable.longestEdge);
              // Without longest_edge, an extreme aspect ratio would ask for a huge resized image.
              if (resize.height * resize.width > model.pixelLimit) {
                throw new VigilInputError(`${name}: resized by the processor's shortest_edge to ${resize.width}x${resize.height}, more than the pixel limit of ${model.pixelLimit}`, { subject: name });
              }
              return preprocessImage(bytes, { ...model.preprocessing, resize, inputSize: resize }, { pixelLimit: model.pixelLimit, name });
            },
            infer: (images: PreprocessedImage[]) => {
              const batch = padBatch(images);
              const feeds = {
                pixel_values: new ort.Tensor('float32', batch.pixels, [images.length, 3, batch.height, batch.width]),
                pixel_mask: new ort.Tensor('int64', batch.mask, [images.length, batch.height, batch.width]),
              };
              return run(feeds, images.length);
            },
          },
        }
      : {}),
  });
  for await (const obs of stream) {
    if ('error' in obs && obs.error !== undefined) {
      yield obs as ImageFailure;
      continue;
    }
    const o = obs as ObservationBase & { raw: Float32Array[] };
    try {
      const bytes = named.get(o.file);
      const size = await orientedSize(bytes ?? (await readFile(o.file)));
      yield { ...o, ...size };
    } catch (error) {
      yield { file: o.file, sha256: o.sha256, error: `${o.file}: cannot read the image size (${errorMessage(error)})` };
    }
  }
}

export interface DetectOptions extends RunOptions {
  /** Keep objects scoring above this (transformers' default 0.5). */
  threshold?: number;
}

/** Detects objects in every image, streaming one observation per image in input order. */
export async function* detectObjects(model: DenseModel, inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>, options: DetectOptions = {}): AsyncGenerator<DetectionObservation | ImageFailure> {
  const threshold = options.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw invalidArgument('threshold', 'a score between 0 and 1', threshold);
  const classes = model.labels.length + 1;
  for await (const obs of runDense(model, inputs, options, 'detection-outputs', ['logits', 'pred_boxes'])) {
    if ('error' in obs && obs.error !== undefined) {
      yield obs;
      continue;
    }
    const o = obs as ObservationBase & { raw: Float32Array[]; width: number; height: number };
    const raw = o.raw[0];
    const queries = raw.length / (classes + 4);
    const objects = postProcessDetection(raw.subarray(0, queries * classes), raw.subarray(queries * classes), model.labels, o, threshold);
    yield { file: o.file, sha256: o.sha256, provider: o.provider, cached: o.cached, width: o.width, height: o.height, objects };
  }
}

/** Segments every image: a class per pixel at the original size. */
export async function* segmentImages(model: DenseModel, inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>, options: RunOptions = {}): AsyncGenerator<SegmentationObservation | ImageFailure> {
  const classes = model.labels.length;
  for await (const obs of runDense(model, inputs, options, 'segmentation-logits', ['logits'])) {
    if ('error' in obs && obs.error !== undefined) {
      yield obs;
      continue;
    }
    const o = obs as ObservationBase & { raw: Float32Array[]; width: number; height: number };
    const raw = o.raw[0];
    const side = raw.length / classes;
    // Square logits for square inputs; otherwise the input aspect ratio decides h and w.
    const { height: ih, width: iw } = model.preprocessing.inputSize;
    const h = Math.round(Math.sqrt((side * ih) / iw));
    const w = side / h;
    const labels = postProcessSegmentation(raw, classes, h, w, o.height, o.width);
    const pixels = new Array<number>(classes).fill(0);
    for (const l of labels) pixels[l]++;
    yield { file: o.file, sha256: o.sha256, provider: o.provider, cached: o.cached, width: o.width, height: o.height, labels, pixels };
  }
}
