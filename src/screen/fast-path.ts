import { errorMessage } from '../core/errors.js';
import { decodeImage, nativeCenterCrop, type CropSize } from './image.js';
import { FEATURE_SIGNALS, type FeatureExtraction, type FeatureSignalId } from './signals/index.js';
import { readMetadataFacts, type MetadataFacts } from './signals/metadata.js';

/**
 * The model-free part of screening one image, from a single decode: the pixel-feature signals of
 * the registry (spectral, residual), metadata facts, and the native-resolution centre crops the
 * model signals are fed. It runs in the main thread or in a worker (see fast-pool.ts); scoring with
 * the probe stays in the caller, since it is cheap and needs the probe.
 */
export interface FastAnalysis {
  format: string;
  width: number;
  height: number;
  /** Per requested pixel-feature signal: its extraction, or why it could not run (image too small). */
  features: Partial<Record<FeatureSignalId, { extraction: FeatureExtraction } | { error: string }>>;
  metadata: MetadataFacts | null;
  /** PNG centre crop per requested size, in request order; null = image smaller than that size (use the original bytes). */
  crops: (Uint8Array | null)[];
}

export interface FastRequest {
  /** Pixel-feature signals to extract. */
  features: readonly FeatureSignalId[];
  metadata: boolean;
  /** Model input sizes to cut native-resolution centre crops for. */
  crops: CropSize[];
}

/** Throws (naming the file) only when the image cannot be decoded; a signal's failure is recorded. */
export async function analyzeFast(bytes: Uint8Array, name: string, request: FastRequest): Promise<FastAnalysis> {
  const image = await decodeImage(bytes, name);
  const features: FastAnalysis['features'] = {};
  for (const signal of FEATURE_SIGNALS) {
    if (!request.features.includes(signal.id)) continue;
    try {
      features[signal.id] = { extraction: signal.extract(image) };
    } catch (error) {
      features[signal.id] = { error: errorMessage(error) };
    }
  }
  return {
    format: image.format,
    width: image.width,
    height: image.height,
    features,
    metadata: request.metadata ? await readMetadataFacts(bytes) : null,
    crops: await Promise.all(request.crops.map((size) => nativeCenterCrop(image, size))),
  };
}
