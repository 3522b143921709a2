import sharp, { type Sharp } from 'sharp';
import type { ClipModel } from '../vision/index.js';
import { VigilInputError } from '../core/errors.js';

/**
 * Perceptual fingerprints for soft-binding recovery: they survive what destroys an embedded
 * manifest (metadata stripping, re-encoding, resizing, mild cropping) yet differ between unrelated
 * images. pHash (Zauner 2010): 32x32 grayscale, 2-D DCT, the 8x8 lowest frequencies (without the
 * DC term's influence on the threshold) compared with their median: 64 bits.
 */

const HASH_SIDE = 32;
const LOW = 8;

/** Center crops fingerprinted at signing time, so a cropped copy still meets a close variant. */
export const SIGNING_CROP_VARIANTS = [1, 0.9, 0.8] as const;

const COSINE = (() => {
  const table = new Float64Array(LOW * HASH_SIDE);
  for (let u = 0; u < LOW; u++) for (let x = 0; x < HASH_SIDE; x++) table[u * HASH_SIDE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * HASH_SIDE));
  return table;
})();

/** pHash of decoded grayscale pixels (HASH_SIDE x HASH_SIDE), as 16 hex digits. */
export function phashOfPixels(pixels: Uint8Array): string {
  // Separable DCT restricted to the LOW x LOW block we keep: rows first, then columns.
  const rows = new Float64Array(HASH_SIDE * LOW);
  for (let y = 0; y < HASH_SIDE; y++) {
    for (let u = 0; u < LOW; u++) {
      let sum = 0;
      for (let x = 0; x < HASH_SIDE; x++) sum += pixels[y * HASH_SIDE + x] * COSINE[u * HASH_SIDE + x];
      rows[y * LOW + u] = sum;
    }
  }
  const coefficients = new Float64Array(LOW * LOW);
  for (let v = 0; v < LOW; v++) {
    for (let u = 0; u < LOW; u++) {
      let sum = 0;
      for (let y = 0; y < HASH_SIDE; y++) sum += rows[y * LOW + u] * COSINE[v * HASH_SIDE + y];
      // Rounded so floating-point noise on flat regions does not turn into random bits.
      coefficients[v * LOW + u] = Math.round(sum * 1e6) / 1e6;
    }
  }
  // The DC term (overall brightness) would dominate the median; leave it out of the threshold.
  const median = [...coefficients.subarray(1)].sort((a, b) => a - b)[(LOW * LOW - 1) >> 1];
  let hex = '';
  for (let nibble = 0; nibble < 16; nibble++) {
    let value = 0;
    for (let bit = 0; bit < 4; bit++) value = (value << 1) | (coefficients[nibble * 4 + bit] > median ? 1 : 0);
    hex += value.toString(16);
  }
  return hex;
}

async function grayscaleSquare(image: Sharp): Promise<Uint8Array> {
  const { data } = await image.grayscale().resize(HASH_SIDE, HASH_SIDE, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

async function decode(bytes: Uint8Array, subject: string): Promise<{ image: Sharp; width: number; height: number }> {
  try {
    // rotate() applies EXIF orientation, so a phone photo and its stripped copy hash alike.
    const oriented = await sharp(bytes, { failOn: 'error' }).rotate().toBuffer({ resolveWithObject: true });
    return { image: sharp(oriented.data), width: oriented.info.width, height: oriented.info.height };
  } catch (error) {
    throw new VigilInputError(`${subject}: cannot decode the image for its perceptual fingerprint (${(error as Error).message}); sign with --no-index`, { subject });
  }
}

/** pHash of an encoded image. */
export async function phash(bytes: Uint8Array, subject = '(image)'): Promise<string> {
  const { image } = await decode(bytes, subject);
  return phashOfPixels(await grayscaleSquare(image));
}

/** pHashes of the center crops in SIGNING_CROP_VARIANTS (full image first). */
export async function phashVariants(bytes: Uint8Array, subject = '(image)'): Promise<string[]> {
  const { image, width, height } = await decode(bytes, subject);
  const hashes: string[] = [];
  for (const fraction of SIGNING_CROP_VARIANTS) {
    const cropWidth = Math.max(1, Math.round(width * fraction));
    const cropHeight = Math.max(1, Math.round(height * fraction));
    const region = { left: (width - cropWidth) >> 1, top: (height - cropHeight) >> 1, width: cropWidth, height: cropHeight };
    hashes.push(phashOfPixels(await grayscaleSquare(image.clone().extract(region))));
  }
  return hashes;
}

const POPCOUNT4 = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

/** 1 - Hamming distance / 64 between two pHashes. */
export function phashSimilarity(a: string, b: string): number {
  let distance = 0;
  for (let i = 0; i < 16; i++) distance += POPCOUNT4[parseInt(a[i], 16) ^ parseInt(b[i], 16)];
  return 1 - distance / 64;
}

/** An optional second fingerprint: a CLIP image embedding (robust to heavier edits, but needs a model). */
export interface ClipFingerprinter {
  /** sha256 of the model: embeddings of different models are never compared. */
  modelId: string;
  embed(bytes: Uint8Array, name: string): Promise<Float32Array>;
  release(): Promise<void>;
}

export async function loadClipFingerprinter(modelDir: string): Promise<ClipFingerprinter> {
  // Loaded on demand: onnxruntime is only needed when a CLIP model is asked for.
  const { embedImages, loadModel } = await import('../vision/index.js');
  const model = await loadModel(modelDir);
  if (model.kind !== 'clip') {
    await model.release();
    throw new VigilInputError(`--clip-model ${modelDir}: expected a CLIP model folder but found a ${model.kind} model`, { subject: modelDir });
  }
  const clip: ClipModel = model;
  return {
    modelId: clip.sha256,
    async embed(bytes, name) {
      for await (const observation of embedImages(clip, [{ name, bytes }], { cacheDir: false })) {
        if (observation.error !== undefined) throw new VigilInputError(observation.error, { subject: name });
        return observation.embedding;
      }
      throw new Error(`CLIP produced no embedding for ${name}`);
    },
    release: () => clip.release(),
  };
}
