import type { LoadModelOptions, ModelInfo, VisionModel } from './types.js';

/**
 * Loads and validates a model folder in the Hugging Face / Optimum ONNX layout, detecting its kind
 * from its files, and creates its onnxruntime sessions on the requested device.
 * Errors name the folder, the file and what was expected.
 */
export async function loadModel(_dir: string, _options: LoadModelOptions = {}): Promise<VisionModel> {
  throw new Error('vision: loadModel is being implemented');
}

/** JSON-serialisable description (kind, files with sha256, graphs, labels, preprocessing, provider). */
export function describeModel(_model: VisionModel): ModelInfo {
  throw new Error('vision: describeModel is being implemented');
}
