import { errorMessage } from '../core/errors.js';
import { decodeImage, nativeCenterCrop, type CropSize } from './image.js';
import { readMetadataFacts, type MetadataFacts } from './signals/metadata.js';
import { analyzeSpectrum, type SpectralAnalysis } from './signals/spectral.js';

/**
 * The model-free part of screening one image, from a single decode: spectral analysis, metadata
 * facts, and the native-resolution centre crops the model signals are fed. It runs in the main
 * thread or in a worker (see fast-pool.ts); scoring with the probe stays in the caller, since it
 * is cheap and needs the probe.
 */
export interface FastAnalysis {
  format: string;
  width: number;
  height: number;
  spectral: { analysis: SpectralAnalysis } | { error: string } | null;
  metadata: MetadataFacts | null;
  /** PNG centre crop per requested size, in request order; null = image smaller than that size (use the original bytes). */
  crops: (Uint8Array | null)[];
}

export interface FastRequest {
  spectral: boolean;
  metadata: boolean;
  /** Model input sizes to cut native-resolution centre crops for. */
  crops: CropSize[];
}

/** Throws (naming the file) only when the image cannot be decoded; a spectral failure is recorded. */
export async function analyzeFast(bytes: Uint8Array, name: string, request: FastRequest): Promise<FastAnalysis> {
  const image = await decodeImage(bytes, name);
  let spectral: FastAnalysis['spectral'] = null;
  if (request.spectral) {
    try {
      spectral = { analysis: analyzeSpectrum(image) };
    } catch (error) {
      spectral = { error: errorMessage(error) };
    }
  }
  return {
    format: image.format,
    width: image.width,
    height: image.height,
    spectral,
    metadata: request.metadata ? await readMetadataFacts(bytes) : null,
    crops: await Promise.all(request.crops.map((size) => nativeCenterCrop(image, size))),
  };
}
