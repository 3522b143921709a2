import { floatInput, floatOutput, pixelFeed } from './feeds.js';
import { invalidArgument, VigilInputError } from '../core/errors.js';
import { SeededRandom } from '../core/random.js';
import { runImages } from './pipeline.js';
import type { ImageInput, MaeModel, Observed, ReconstructOptions, ReconstructionObservation } from './types.js';

export const DEFAULT_MASKS = 4;

/**
 * MAE reconstruction error per image and per patch. Each of `masks` masks comes from the noise of
 * seed + i (the same masks for every image, so images are compared under equal masking); the
 * model masks the patches with the largest noise, as transformers' ViTMAE does with argsort.
 * Error per patch is the mean squared error between the predicted and true pixels of the patch
 * (each patch's pixels normalised to mean 0, variance 1 first when norm_pix_loss), and the image
 * error is the mean over masked patches: transformers' ViTMAE loss, averaged over the masks.
 */
export async function* reconstruct(
  model: MaeModel,
  inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>,
  options: ReconstructOptions,
): AsyncGenerator<Observed<ReconstructionObservation>> {
  if (model?.kind !== 'mae') throw invalidArgument('reconstruct model', 'an MAE model', model?.kind ?? model);
  const seed = options?.seed;
  if (!Number.isInteger(seed)) throw invalidArgument('seed', 'an integer', seed);
  const masks = options.masks ?? DEFAULT_MASKS;
  if (!Number.isInteger(masks) || masks < 1) throw invalidArgument('masks', 'a positive integer', masks);
  const { numPatches } = model;
  const noises = Array.from({ length: masks }, (_, m) => maeNoise(numPatches, seed + m));

  yield* runImages(model, inputs, options, {
    // Raw output per image: for each mask, numPatches errors then numPatches mask flags.
    output: `mae-patch-errors:seed=${seed}:masks=${masks}`,
    infer: async (pixels, count) => {
      const raw = Array.from({ length: count }, () => new Float32Array(masks * 2 * numPatches));
      for (let m = 0; m < masks; m++) {
        const noise = new Float32Array(count * numPatches);
        for (let i = 0; i < count; i++) noise.set(noises[m], i * numPatches);
        const perImage = await maePatchErrors(model, pixels, count, noise);
        perImage.forEach(({ patchErrors, mask }, i) => {
          raw[i].set(patchErrors, m * 2 * numPatches);
          raw[i].set(mask, m * 2 * numPatches + numPatches);
        });
      }
      return raw;
    },
    finish: (raw, base) => {
      const patchSums = new Float64Array(numPatches);
      const patchCounts = new Uint32Array(numPatches);
      let imageError = 0;
      for (let m = 0; m < masks; m++) {
        const errors = raw.subarray(m * 2 * numPatches, m * 2 * numPatches + numPatches);
        const flags = raw.subarray(m * 2 * numPatches + numPatches, (m + 1) * 2 * numPatches);
        let sum = 0;
        let masked = 0;
        for (let p = 0; p < numPatches; p++) {
          if (flags[p] > 0.5) {
            sum += errors[p];
            masked += 1;
            patchSums[p] += errors[p];
            patchCounts[p] += 1;
          }
        }
        imageError += masked > 0 ? sum / masked : 0;
      }
      const patchErrors = new Float32Array(numPatches);
      for (let p = 0; p < numPatches; p++) patchErrors[p] = patchCounts[p] > 0 ? patchSums[p] / patchCounts[p] : NaN;
      return { ...base, reconstructionError: imageError / masks, patchErrors, masks };
    },
  });
}

/**
 * Runs the MAE on a batch (`count` images of C×H×W float32 in `pixels`) with the given noise
 * (`count` × numPatches) and returns, per image, every patch's reconstruction error (mean squared
 * error against the per-patch normalised pixels when norm_pix_loss, else the pixels) and the
 * model's mask (1 = patch removed).
 */
export async function maePatchErrors(
  model: MaeModel,
  pixels: Float32Array,
  count: number,
  noise: Float32Array,
): Promise<{ patchErrors: Float32Array; mask: Float32Array }[]> {
  const { numPatches, patchSize } = model;
  const { height, width } = model.preprocessing.inputSize;
  const imageSize = 3 * height * width;
  if (pixels.length !== count * imageSize) throw invalidArgument('pixels', `${count} × 3 × ${height} × ${width} values`, pixels.length);
  if (noise.length !== count * numPatches) throw invalidArgument('noise', `${count} × ${numPatches} values`, noise.length);
  const result = await model.session.run(
    {
      pixel_values: pixelFeed(model.graphs[0], 'pixel_values', pixels, count, height, width),
      noise: floatInput(
        model.graphs[0].inputs.find((i) => i.name === 'noise'),
        noise,
        [count, numPatches],
      ),
    },
    ['logits', 'mask'],
  );
  const logits = floatOutput(result.logits, 'logits', model.dir).data as Float32Array;
  const mask = floatOutput(result.mask, 'mask', model.dir).data as Float32Array;
  const perPatch = patchSize * patchSize * 3;
  if (logits.length !== count * numPatches * perPatch || mask.length !== count * numPatches) {
    throw new VigilInputError(
      `Model folder ${model.dir}: expected logits [${count}, ${numPatches}, ${perPatch}] and mask [${count}, ${numPatches}] ` +
        `but received [${result.logits.dims.join(', ')}] and [${result.mask.dims.join(', ')}]`,
      { subject: model.dir },
    );
  }
  return Array.from({ length: count }, (_, i) => {
    const target = patchify(pixels.subarray(i * imageSize, (i + 1) * imageSize), height, width, patchSize);
    const patchErrors = new Float32Array(numPatches);
    for (let p = 0; p < numPatches; p++) {
      const truth = target.subarray(p * perPatch, (p + 1) * perPatch);
      if (model.normPixLoss) normalizePatch(truth);
      const prediction = logits.subarray((i * numPatches + p) * perPatch, (i * numPatches + p + 1) * perPatch);
      let sum = 0;
      for (let k = 0; k < perPatch; k++) sum += (prediction[k] - truth[k]) ** 2;
      patchErrors[p] = sum / perPatch;
    }
    return { patchErrors, mask: mask.slice(i * numPatches, (i + 1) * numPatches) };
  });
}

/**
 * The float32 uniform [0, 1) noise, one value per patch, that decides a mask: the model keeps the
 * patches with the smallest noise. 24-bit values are exact in float32, so no value rounds up to 1.
 */
export function maeNoise(numPatches: number, seed: number): Float32Array {
  if (!Number.isInteger(numPatches) || numPatches < 1) throw invalidArgument('numPatches', 'a positive integer', numPatches);
  if (!Number.isInteger(seed)) throw invalidArgument('seed', 'an integer', seed);
  const random = new SeededRandom(seed);
  const noise = new Float32Array(numPatches);
  for (let i = 0; i < numPatches; i++) noise[i] = (random.nextUint32() >>> 8) / 16777216;
  return noise;
}

/**
 * transformers' ViTMAE patchify: C×H×W → (patches, patchSize² × 3), patches in row-major grid
 * order, values within a patch ordered (row, column, channel).
 */
export function patchify(image: Float32Array, height: number, width: number, patchSize: number): Float32Array {
  const gridW = width / patchSize;
  const patches = (height / patchSize) * gridW;
  const perPatch = patchSize * patchSize * 3;
  const out = new Float32Array(patches * perPatch);
  const plane = height * width;
  for (let p = 0; p < patches; p++) {
    const top = Math.floor(p / gridW) * patchSize;
    const left = (p % gridW) * patchSize;
    let k = p * perPatch;
    for (let y = 0; y < patchSize; y++) {
      for (let x = 0; x < patchSize; x++) {
        const pixel = (top + y) * width + left + x;
        for (let c = 0; c < 3; c++) out[k++] = image[c * plane + pixel];
      }
    }
  }
  return out;
}

/** In place: (x - mean) / sqrt(var + 1e-6) with torch's unbiased variance, as ViTMAE's norm_pix_loss. */
function normalizePatch(values: Float32Array): void {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  const variance = squares / (values.length - 1);
  const scale = 1 / Math.sqrt(variance + 1e-6);
  for (let i = 0; i < values.length; i++) values[i] = (values[i] - mean) * scale;
}
