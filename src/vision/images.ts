import type { PreprocessConfig } from './types.js';

/** An image decoded and preprocessed to the model's input: NCHW float32 for one image (C×H×W). */
export interface PreprocessedImage {
  data: Float32Array;
  height: number;
  width: number;
}

/**
 * Expands paths into image files: a file is kept, a folder is searched recursively, anything else
 * is a glob. Returns files in input order (each folder/glob sorted) and the inputs that matched nothing.
 */
export async function listImageFiles(_paths: readonly string[]): Promise<{ files: string[]; unmatched: string[] }> {
  throw new Error('vision: listImageFiles is being implemented');
}

/**
 * Decodes image bytes with sharp (EXIF orientation applied, alpha flattened on white, any colour
 * space/bit depth to 8-bit sRGB, pixel limit enforced) and applies preprocessor_config.json.
 */
export async function preprocessImage(
  _bytes: Uint8Array,
  _config: PreprocessConfig,
  _options: { pixelLimit?: number; name?: string } = {},
): Promise<PreprocessedImage> {
  throw new Error('vision: preprocessImage is being implemented');
}
