import ort from 'onnxruntime-node';
import { VigilInputError } from '../core/errors.js';
import { float16ToFloat32, float32ToFloat16 } from './dtype.js';
import type { TextTokenizer } from './text.js';
import type { ClipIo, GraphInfo, TensorSpec } from './types.js';

/**
 * Text inputs for a CLIP-style text graph: token ids (and the attention mask when the graph takes
 * one) as the integer type the graph declares (int64 for Optimum, int32 for some open_clip exports).
 */
export function textFeeds(graph: GraphInfo, io: ClipIo, tokenizer: TextTokenizer, texts: readonly string[]): Record<string, ort.Tensor> {
  const batch = tokenizer.encodeBatch(texts);
  const feeds: Record<string, ort.Tensor> = {};
  const dims = [batch.batchSize, batch.length];
  for (const [name, values] of [
    [io.inputIds, batch.inputIds],
    [io.attentionMask, batch.attentionMask],
  ] as const) {
    if (name === null) continue;
    const spec = graph.inputs.find((i) => i.name === name);
    // Some exports (e.g. transformers.js SigLIP text_model.onnx) take no attention_mask.
    if (!spec) continue;
    feeds[name] =
      spec.type === 'int32'
        ? new ort.Tensor('int32', Int32Array.from(values), dims)
        : new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
  }
  return feeds;
}

/** The image input of a graph (float32, or float16 for fp16 variants), N×3×H×W. */
export function pixelFeed(graph: GraphInfo, name: string, pixels: Float32Array, count: number, height: number, width: number): ort.Tensor {
  return floatInput(
    graph.inputs.find((i) => i.name === name),
    pixels,
    [count, 3, height, width],
  );
}

/** A float tensor for a graph input declared float32 or float16 (fp16 graphs convert at the boundary). */
export function floatInput(spec: TensorSpec | undefined, data: Float32Array, dims: readonly number[]): ort.Tensor {
  if (spec?.type === 'float16') return new ort.Tensor('float16', float32ToFloat16(data), dims);
  return new ort.Tensor('float32', data, dims);
}

/** A float output as float32, whatever float type the graph produced (fp16 outputs are widened). */
export function floatOutput(tensor: ort.Tensor | undefined, name: string, where: string): ort.Tensor {
  if (!tensor) throw new VigilInputError(`${where}: the model produced no output "${name}"`, { subject: where });
  if (tensor.type === 'float32') return tensor;
  if (tensor.type === 'float16') {
    const bits = tensor.data as unknown;
    const widened =
      bits instanceof Uint16Array ? float16ToFloat32(bits) : Float32Array.from(bits as ArrayLike<number>);
    return new ort.Tensor('float32', widened, tensor.dims);
  }
  throw new VigilInputError(`${where}: expected output "${name}" to be float32 or float16 but it is ${tensor.type}`, {
    subject: where,
  });
}

