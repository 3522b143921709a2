import type { ImageInput, MaeModel, Observed, ReconstructOptions, ReconstructionObservation } from './types.js';

/**
 * MAE reconstruction error per image and per patch, averaged over `masks` seeded random masks
 * (mask i from seed + i, with transformers' argsort-of-noise semantics).
 */
export function reconstruct(
  _model: MaeModel,
  _inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>,
  _options: ReconstructOptions,
): AsyncIterable<Observed<ReconstructionObservation>> {
  throw new Error('vision: reconstruct is being implemented');
}

/** The float32 uniform [0,1) noise (one value per patch) that decides the mask for a seed. */
export function maeNoise(_numPatches: number, _seed: number): Float32Array {
  throw new Error('vision: maeNoise is being implemented');
}
