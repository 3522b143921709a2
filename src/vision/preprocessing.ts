import { VigilInputError, describeValue } from '../core/errors.js';
import { sharpKernel } from './images.js';
import type { PreprocessConfig } from './types.js';

type Size = { shortestEdge: number } | { height: number; width: number };

const IMAGENET_STANDARD = [0.5, 0.5, 0.5] as const;

/**
 * Reads a transformers preprocessor_config.json. `squareByDefault` decides what a bare integer
 * `size` means: ViT-style processors resize to a square, CLIP-style ones to a shortest edge
 * (transformers' get_size_dict default_to_square). The result must give a fixed input size.
 */
export function parsePreprocessorConfig(raw: unknown, file: string, squareByDefault: boolean): PreprocessConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new VigilInputError(`${file}: expected a JSON object but received ${describeValue(raw)}`, { subject: file });
  }
  const json = raw as Record<string, unknown>;
  const fail = (field: string, expected: string): never => {
    throw new VigilInputError(`${file}: expected ${field} to be ${expected} but received ${describeValue(json[field])}`, {
      subject: file,
    });
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const value = json[field] ?? fallback;
    return typeof value === 'boolean' ? value : fail(field, 'true or false');
  };
  const positive = (field: string, fallback: number): number => {
    const value = json[field] ?? fallback;
    return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fail(field, 'a positive number');
  };
  const triple = (field: string, fallback: readonly number[]): [number, number, number] => {
    const value = json[field] ?? fallback;
    if (typeof value === 'number' && Number.isFinite(value)) return [value, value, value];
    if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return [value[0], value[1], value[2]];
    }
    return fail(field, 'three numbers (one per RGB channel)');
  };
  const size = (field: string, square: boolean): Size => {
    const value = json[field];
    const isDim = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
    if (isDim(value)) return square ? { height: value, width: value } : { shortestEdge: value };
    if (value !== null && typeof value === 'object') {
      const v = value as Record<string, unknown>;
      if (isDim(v.shortest_edge) && v.longest_edge === undefined) return { shortestEdge: v.shortest_edge };
      if (isDim(v.height) && isDim(v.width)) return { height: v.height, width: v.width };
    }
    return fail(field, '{"shortest_edge": n} or {"height": h, "width": w} with positive integers');
  };

  const doResize = bool('do_resize', true);
  const resize: Size = doResize ? size('size', squareByDefault) : { height: 0, width: 0 };
  const resampleValue = json.resample ?? (squareByDefault ? 2 : 3);
  if (typeof resampleValue !== 'number' || !Number.isInteger(resampleValue) || resampleValue < 0 || resampleValue > 5) {
    fail('resample', 'a PIL resample code 0-5 (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)');
  }
  const resample = resampleValue as number;
  const doCenterCrop = bool('do_center_crop', false);
  const cropSize = doCenterCrop ? (size('crop_size', true) as { height: number; width: number }) : { height: 0, width: 0 };
  if (doCenterCrop && 'shortestEdge' in cropSize) fail('crop_size', '{"height": h, "width": w}');

  let inputSize: { height: number; width: number };
  if (doCenterCrop) inputSize = cropSize;
  else if (doResize && !('shortestEdge' in resize)) inputSize = resize;
  else {
    throw new VigilInputError(
      `${file}: the model input size is not fixed (needs do_center_crop with crop_size, or do_resize with size {"height", "width"})`,
      { subject: file },
    );
  }

  return {
    doResize,
    resize,
    resample,
    kernel: sharpKernel(resample),
    doCenterCrop,
    cropSize,
    doRescale: bool('do_rescale', true),
    rescaleFactor: positive('rescale_factor', 1 / 255),
    doNormalize: bool('do_normalize', true),
    imageMean: triple('image_mean', IMAGENET_STANDARD),
    imageStd: triple('image_std', IMAGENET_STANDARD).map((v) => (v > 0 ? v : fail('image_std', 'three positive numbers'))) as [
      number,
      number,
      number,
    ],
    inputSize,
  };
}
