import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { glob, isDynamicPattern } from 'tinyglobby';
import { errorMessage, invalidArgument, VigilInputError } from '../core/errors.js';
import { IMAGE_EXTENSIONS } from '../core/extensions.js';
import { walk, walkReaches } from '../core/walk.js';
import type { PreprocessConfig } from './types.js';

/** sharp's own default (16383 × 16383), used when no pixel limit is configured. */
export const DEFAULT_PIXEL_LIMIT = 268_402_689;

// One libvips thread per image: images are preprocessed concurrently on libuv's pool instead,
// which leaves the cores to onnxruntime while it runs.
sharp.concurrency(1);

/** An image decoded and preprocessed to the model's input: float32 C×H×W (RGB planes). */
export interface PreprocessedImage {
  data: Float32Array;
  height: number;
  width: number;
}

/**
 * Expands paths into image files: a file is kept as given, a folder is searched recursively for
 * image files, anything else is a glob (only image files are kept). Folder and glob matches are
 * sorted; duplicates (same resolved path) are dropped. `unmatched` lists inputs that gave nothing.
 * The whole list is held: for a run over any number of images, stream `imageFilesOf` instead.
 */
export async function listImageFiles(paths: readonly string[]): Promise<{ files: string[]; unmatched: string[] }> {
  const files: string[] = [];
  const unmatched: string[] = [];
  for await (const file of imageFilesOf(paths, { onUnmatched: (input) => unmatched.push(input) })) files.push(file);
  return { files, unmatched };
}

/** An input already streamed, as imageFilesOf remembers it to recognise its images again. */
type EarlierInput = { kind: 'file'; key: string } | { kind: 'folder'; root: string; key: string } | { kind: 'glob'; keys: Set<string> };

/**
 * listImageFiles as a stream, in the same order and with the same duplicates dropped, holding
 * nothing per image: an image is a duplicate when an earlier input reached the same resolved path,
 * which is decided from the inputs themselves (the same file named twice; a file or folder inside an
 * earlier folder input that the walk of that folder reaches, asked of core's `walkReaches`; a match
 * of an earlier glob, whose matches are held as tinyglobby returns them whole anyway).
 * `onUnmatched` is called for each input that gave no image, after its turn in the stream.
 */
export async function* imageFilesOf(
  paths: readonly string[],
  options: { onUnmatched?: (input: string) => void } = {},
): AsyncGenerator<string> {
  const earlier: EarlierInput[] = [];
  const reachedBefore = async (file: string): Promise<boolean> => {
    const key = resolve(file);
    for (const input of earlier) {
      if (input.kind === 'file' ? input.key === key : input.kind === 'glob' ? input.keys.has(key) : key.startsWith(input.key) && (await walkReaches(input.root, file, { extensions: IMAGE_EXTENSIONS }))) {
        return true;
      }
    }
    return false;
  };
  for (const input of paths) {
    const kind = await inputKind(input);
    const globKeys = kind === 'glob' ? new Set<string>() : undefined;
    let matched = false;
    for await (const file of imagePathsOf(input)) {
      matched = true;
      globKeys?.add(resolve(file));
      if (earlier.length > 0 && (await reachedBefore(file))) continue;
      yield file;
    }
    if (!matched) options.onUnmatched?.(input);
    if (kind === 'file') earlier.push({ kind, key: resolve(input) });
    else if (kind === 'folder') {
      const root = resolve(input);
      earlier.push({ kind, root: input, key: root.endsWith(sep) ? root : `${root}${sep}` });
    }
    else if (globKeys!.size > 0) earlier.push({ kind, keys: globKeys! });
  }
}

/**
 * The inputs that match no image, found before any image is read (so a run can report them before
 * it loads a model): a file must exist, a folder must hold one image (the walk stops at the first),
 * a glob must match one.
 */
export async function unmatchedInputs(paths: readonly string[]): Promise<string[]> {
  const unmatched: string[] = [];
  for (const input of paths) {
    const images = imagePathsOf(input);
    const first = await images.next();
    await images.return(undefined);
    if (first.done) unmatched.push(input);
  }
  return unmatched;
}

/** How imagePathsOf reads an input: a file, a folder, or else a glob. */
async function inputKind(input: string): Promise<'file' | 'folder' | 'glob'> {
  const info = await stat(input).catch(() => undefined);
  return info?.isFile() ? 'file' : info?.isDirectory() ? 'folder' : 'glob';
}

/**
 * The image files one input path stands for (see listImageFiles). `extensions` are the ones a
 * folder or glob keeps (default: what sharp decodes; C2PA verify passes its own, wider list).
 */
export async function expandImagePath(
  input: string,
  extensions: readonly string[] = IMAGE_EXTENSIONS,
  options: { followSymlinks?: boolean } = {},
): Promise<string[]> {
  const found: string[] = [];
  for await (const file of imagePathsOf(input, extensions, options)) found.push(file);
  return found;
}

/**
 * expandImagePath as a stream, in the same order: a folder's images come from core's walker as
 * it finds them (no list of a 100k-image folder is held), so a pipeline can start on the first
 * image at once. A glob's matches are still collected and sorted (tinyglobby returns them whole).
 */
export async function* imagePathsOf(
  input: string,
  extensions: readonly string[] = IMAGE_EXTENSIONS,
  options: { followSymlinks?: boolean } = {},
): AsyncGenerator<string> {
  if (typeof input !== 'string' || input.length === 0) throw invalidArgument('image path', 'a non-empty string', input);
  const info = await stat(input).catch(() => undefined);
  if (info?.isFile()) {
    yield input;
    return;
  }
  // Folders through core's walker: no symlinks out of the folder unless followSymlinks.
  if (info?.isDirectory()) {
    yield* walk(input, { extensions, followSymlinks: options.followSymlinks });
    return;
  }
  if (!isDynamicPattern(input)) return;
  const imageFile = new RegExp(`\\.(${extensions.join('|')})$`, 'i');
  const found = await glob(input, { onlyFiles: true, dot: false, followSymbolicLinks: options.followSymlinks ?? false });
  yield* found.filter((file) => imageFile.test(file)).sort();
}

/** Maps transformers' PIL resample codes to sharp kernels (box and hamming have none: linear is closest). */
export function sharpKernel(resample: number): PreprocessConfig['kernel'] {
  switch (resample) {
    case 0:
      return 'nearest';
    case 1:
      return 'lanczos3';
    case 2:
    case 4:
    case 5:
      return 'linear';
    case 3:
      return 'cubic';
    default:
      throw invalidArgument('resample', 'a PIL resample code 0-5', resample);
  }
}

/**
 * The output size of transformers' resize for `shortest_edge`: the short side becomes `edge` and
 * the long side is scaled and truncated to an integer, as get_resize_output_image_size does.
 */
export function shortestEdgeSize(height: number, width: number, edge: number): { height: number; width: number } {
  if (height <= width) return { height: edge, width: Math.trunc((edge * width) / height) };
  return { height: Math.trunc((edge * height) / width), width: edge };
}

/**
 * Decodes image bytes with sharp and applies preprocessor_config.json: EXIF orientation, alpha
 * flattened on white, any colour space or bit depth to 8-bit sRGB, resize (with the configured
 * kernel; skipped when the image already has the target size, as PIL does), center crop
 * (transformers' offsets: floor((size - crop) / 2)), rescale and normalise to float32 C×H×W.
 */
export async function preprocessImage(
  bytes: Uint8Array,
  config: PreprocessConfig,
  options: { pixelLimit?: number; name?: string } = {},
): Promise<PreprocessedImage> {
  const name = options.name ?? 'image';
  const pixelLimit = options.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  let image: Sharp;
  let width: number;
  let height: number;
  try {
    // The header is read without the limit so the error can state the size; decoding keeps it.
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (meta.width === undefined || meta.height === undefined) throw new Error('no image dimensions');
    if (meta.width * meta.height > pixelLimit) {
      throw new VigilInputError(
        `${name}: ${meta.width}x${meta.height} = ${meta.width * meta.height} pixels exceeds the pixel limit of ${pixelLimit}`,
        { subject: name },
      );
    }
    // EXIF orientations 5-8 swap width and height.
    const swapped = (meta.orientation ?? 1) >= 5;
    width = swapped ? meta.height : meta.width;
    height = swapped ? meta.width : meta.height;
    image = sharp(bytes, { limitInputPixels: pixelLimit, failOn: 'error' });
  } catch (error) {
    if (error instanceof VigilInputError) throw error;
    throw new VigilInputError(`${name}: cannot decode image (${errorMessage(error)})`, { subject: name, cause: error });
  }

  let pipeline = image.autoOrient().flatten({ background: '#ffffff' });
  if (config.doResize) {
    const target =
      'shortestEdge' in config.resize ? shortestEdgeSize(height, width, config.resize.shortestEdge) : config.resize;
    if (target.width !== width || target.height !== height) {
      pipeline = pipeline.resize(target.width, target.height, {
        kernel: config.kernel,
        fit: 'fill',
        fastShrinkOnLoad: false,
      });
      width = target.width;
      height = target.height;
    }
  }
  if (config.doCenterCrop) {
    const crop = config.cropSize;
    if (crop.width > width || crop.height > height) {
      // transformers pads with zeros when the crop is larger than the image; do the same.
      pipeline = pipeline.extend({
        top: Math.max(0, Math.floor((crop.height - height) / 2)),
        bottom: Math.max(0, Math.ceil((crop.height - height) / 2)),
        left: Math.max(0, Math.floor((crop.width - width) / 2)),
        right: Math.max(0, Math.ceil((crop.width - width) / 2)),
        background: { r: 0, g: 0, b: 0 },
      });
      width = Math.max(width, crop.width);
      height = Math.max(height, crop.height);
    }
    if (crop.width !== width || crop.height !== height) {
      pipeline = pipeline.extract({
        left: Math.floor((width - crop.width) / 2),
        top: Math.floor((height - crop.height) / 2),
        width: crop.width,
        height: crop.height,
      });
      width = crop.width;
      height = crop.height;
    }
  }

  let raw: Buffer;
  try {
    raw = await pipeline.toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer();
  } catch (error) {
    throw new VigilInputError(`${name}: cannot decode image (${errorMessage(error)})`, { subject: name, cause: error });
  }
  if (raw.length !== width * height * 3) {
    throw new VigilInputError(`${name}: decoded to ${raw.length} bytes, expected ${width}x${height} RGB`, { subject: name });
  }
  return { data: toChwFloat(raw, width, height, config), height, width };
}

/**
 * HWC uint8 RGB → CHW float32 with transformers' rescale then normalise. Each channel maps 256
 * byte values, so the arithmetic is done once per value in a lookup table.
 */
function toChwFloat(raw: Uint8Array, width: number, height: number, config: PreprocessConfig): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const scale = config.doRescale ? config.rescaleFactor : 1;
  const table = new Float32Array(256);
  for (let c = 0; c < 3; c++) {
    const mean = config.doNormalize ? config.imageMean[c] : 0;
    const std = config.doNormalize ? config.imageStd[c] : 1;
    // transformers rescales to float32 first, then normalises.
    for (let v = 0; v < 256; v++) table[v] = (Math.fround(v * scale) - mean) / std;
    const offset = c * plane;
    for (let i = 0, j = c; i < plane; i++, j += 3) out[offset + i] = table[raw[j]];
  }
  return out;
}
