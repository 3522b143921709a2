/**
 * The vision stack's public API. Load a model folder once, then stream observations:
 *
 *   const model = await loadModel('fixtures/models/clip', { device: 'auto' });
 *   for await (const obs of classify(model, ['photos/'], { labels: ['cat', 'dog'] })) {
 *     if (obs.error === undefined) console.log(obs.file, obs.top[0]);
 *   }
 *   await model.release();
 *
 * Observations are cached on disk by (model sha256, image sha256, preprocessing), so a second run
 * over the same images does no inference (see `model.stats`).
 */
export type * from './types.js';
export { loadModel, describeModel, type ModelManifest } from './model.js';
export { DTYPES, DTYPE_CHOICES } from './dtype.js';
export { listImageFiles, preprocessImage, type PreprocessedImage } from './images.js';
export { embedImages, embedTexts } from './embed.js';
export { classify, classLabels } from './classify.js';
export { reconstruct, maeNoise, maePatchErrors } from './reconstruct.js';
