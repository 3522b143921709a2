import ort from 'onnxruntime-node';
import { floatInput } from './dtype.js';
import type { TextTokenizer } from './text.js';
import type { ClipIo, GraphInfo } from './types.js';

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
