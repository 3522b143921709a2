import { errorMessage } from '../core/errors.js';
import { decodeGray } from './image.js';
import { readMetadataFacts, type MetadataFacts } from './signals/metadata.js';
import { analyzeSpectrum, type SpectralAnalysis } from './signals/spectral.js';

/**
 * The model-free part of screening one image: decode, spectral analysis, metadata facts. It runs
 * in the main thread or in a worker (see fast-pool.ts); scoring with the probe stays in the caller,
 * since it is cheap and needs the probe.
 */
export interface FastAnalysis {
  format: string;
  width: number;
  height: number;
  spectral: { analysis: SpectralAnalysis } | { error: string } | null;
  metadata: MetadataFacts | null;
}

export interface FastRequest {
  spectral: boolean;
  metadata: boolean;
}

/** Throws (naming the file) only when the image cannot be decoded; a spectral failure is recorded. */
export async function analyzeFast(bytes: Uint8Array, name: string, request: FastRequest): Promise<FastAnalysis> {
  const image = await decodeGray(bytes, name);
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
  };
}
