import protobuf from 'protobufjs';
import { VigilInputError } from '../core/errors.js';
import { readInputFile, writeFileAtomic } from '../core/files.js';
import { ONNX_PROTO } from './onnx-schema.js';

/** onnx.TensorProto.DataType values used here. */
const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
/** onnx.AttributeProto.AttributeType values used here. */
const AT = { FLOAT: 1, INT: 2 } as const;

// Plain shapes of the decoded protobuf messages (only the fields this module reads or writes).
interface Tensor {
  name: string;
  dims: (number | protobuf.Long)[];
  data_type: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  data_location?: number;
  external_data?: unknown[];
}
interface Attribute {
  name: string;
  type: number;
  i?: number | protobuf.Long;
  f?: number;
}
interface Node {
  name?: string;
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
}
interface Graph {
  node: Node[];
  initializer: Tensor[];
}
interface Model {
  ir_version?: number | protobuf.Long;
  opset_import: { domain?: string; version: number | protobuf.Long }[];
  graph: Graph;
}

let modelType: protobuf.Type | undefined;
function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

export interface QuantizeOptions {
  /** One scale per output column (default true): rows of a weight matrix differ in range. */
  perChannel?: boolean;
  /** Weight matrices with fewer elements stay float (default 0: quantize all). */
  minElements?: number;
}

export interface QuantizeReport {
  /** MatMul/Gemm nodes turned into int8 (MatMulInteger) nodes. */
  quantized: number;
  /** MatMul/Gemm nodes left in float, with why (activation × activation, too small, Gemm with transA, ...). */
  skipped: { node: string; reason: string }[];
  bytesIn: number;
  bytesOut: number;
}

/**
 * Dynamic int8 quantisation of an ONNX graph's MatMul and Gemm weights, the scheme onnxruntime's
 * quantize_dynamic writes and fuses at load time (DynamicQuantizeLinear → MatMulInteger → Cast →
 * Mul ⇒ one DynamicQuantizeMatMul kernel, int8 dot products with VNNI where the CPU has it):
 * weights become symmetric int8 with one scale per output column (or per tensor), activations
 * are quantised to uint8 per batch at run time. Everything else stays float32.
 */
export async function quantizeOnnxFile(input: string, output: string, options: QuantizeOptions = {}): Promise<QuantizeReport> {
  // No size cap beyond the plain-file check: full-size ONNX graphs run to gigabytes.
  const bytes = await readInputFile(input, { what: 'ONNX model' });
  const type = onnxModelType();
  let model: Model;
  try {
    model = type.decode(bytes) as unknown as Model;
  } catch (error) {
    throw new VigilInputError(`${input}: not an ONNX model (${error instanceof Error ? error.message : String(error)})`, { subject: input });
  }
  if (!model.graph) throw new VigilInputError(`${input}: not an ONNX model (no graph)`, { subject: input });
  // A field this schema does not know would be dropped silently when re-encoding: refuse instead.
  if (type.encode(model as unknown as protobuf.Message).finish().length !== bytes.length) {
    throw new VigilInputError(
      `${input}: the file has fields that vigil's ONNX schema (IR version 8) does not know; quantizing would drop them. Re-export it with IR version 8 (opset ≤ 17)`,
      { subject: input },
    );
  }
  const opset = Number(model.opset_import.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (opset < 11) {
    throw new VigilInputError(`${input}: opset ${opset} is too old for int8 quantisation (DynamicQuantizeLinear needs opset 11 or newer)`, {
      subject: input,
    });
  }
  const report = rewriteGraph(model.graph, input, { perChannel: options.perChannel ?? true, minElements: options.minElements ?? 0 });
  const out = type.encode(model as unknown as protobuf.Message).finish();
  await writeFileAtomic(output, out);
  return { ...report, bytesIn: bytes.length, bytesOut: out.length };
}

function rewriteGraph(graph: Graph, file: string, options: Required<QuantizeOptions>): Omit<QuantizeReport, 'bytesIn' | 'bytesOut'> {
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const skipped: QuantizeReport['skipped'] = [];
  const nodes: Node[] = [];
  const added: Tensor[] = [];
  /** One DynamicQuantizeLinear per activation tensor (q, k and v projections share their input). */
  const quantizedActivations = new Map<string, { q: string; scale: string; zero: string }>();
  let quantized = 0;
  let counter = 0;
  const unique = (stem: string) => `${stem}__vigil_q${counter++}`;

  for (const node of graph.node) {
    const isMatMul = node.op_type === 'MatMul' && (!node.domain || node.domain === 'ai.onnx');
    const isGemm = node.op_type === 'Gemm' && (!node.domain || node.domain === 'ai.onnx');
    if (!isMatMul && !isGemm) {
      nodes.push(node);
      continue;
    }
    const label = node.name || node.output[0];
    const weight = initializers.get(node.input[1]);
    const gemm = isGemm ? gemmAttributes(node) : null;
    const reason = !weight
      ? 'the second input is not a weight (activation × activation)'
      : weight.data_type !== DT.FLOAT
        ? 'the weight is not float32'
        : weight.dims.length !== 2
          ? `the weight has ${weight.dims.length} dimensions (2 expected)`
          : weight.data_location === 1 || (weight.external_data?.length ?? 0) > 0
            ? 'the weight is stored outside the file (external data)'
            : gemm !== null && (gemm.transA !== 0 || gemm.alpha !== 1 || gemm.beta !== 1)
              ? 'Gemm with transA or alpha/beta other than 1'
              : Number(weight.dims[0]) * Number(weight.dims[1]) < options.minElements
                ? `the weight has fewer than ${options.minElements} elements`
                : null;
    if (reason !== null) {
      skipped.push({ node: label, reason });
      nodes.push(node);
      continue;
    }
    let [k, n] = weight!.dims.map(Number);
    let values = floatValues(weight!, file);
    if (gemm?.transB === 1) {
      // Gemm's B is [N, K] with transB; MatMulInteger wants [K, N].
      values = transpose(values, k, n);
      [k, n] = [n, k];
    }
    const { q, scales } = quantizeColumns(values, k, n, options.perChannel);
    const stem = weight!.name;
    const wq = unique(`${stem}_quantized`);
    const wScale = unique(`${stem}_scale`);
    const wZero = unique(`${stem}_zero_point`);
    added.push(
      { name: wq, dims: [k, n], data_type: DT.INT8, raw_data: new Uint8Array(q.buffer) },
      floatTensor(wScale, scales, [scales.length]),
      { name: wZero, dims: [scales.length], data_type: DT.INT8, raw_data: new Uint8Array(scales.length) },
    );
    const activation = node.input[0];
    let a = quantizedActivations.get(activation);
    if (!a) {
      a = { q: unique(`${activation}_quantized`), scale: unique(`${activation}_scale`), zero: unique(`${activation}_zero_point`) };
      quantizedActivations.set(activation, a);
      nodes.push(op('DynamicQuantizeLinear', [activation], [a.q, a.scale, a.zero], unique(`${label}_dql`)));
    }
    const product = unique(`${label}_int32`);
    const asFloat = unique(`${label}_float`);
    const scale = unique(`${label}_scale`);
    const result = isGemm && node.input[2] ? unique(`${label}_matmul`) : node.output[0];
    nodes.push(
      op('MatMulInteger', [a.q, wq, a.zero, wZero], [product], unique(`${label}_matmulinteger`)),
      op('Cast', [product], [asFloat], unique(`${label}_cast`), [{ name: 'to', type: AT.INT, i: DT.FLOAT }]),
      op('Mul', [a.scale, wScale], [scale], unique(`${label}_scales`)),
      op('Mul', [asFloat, scale], [result], unique(`${label}_rescale`)),
    );
    if (result !== node.output[0]) nodes.push(op('Add', [result, node.input[2]], [node.output[0]], unique(`${label}_bias`)));
    quantized += 1;
  }

  graph.node = nodes;
  // Float weights nothing uses any more are dropped (that is where the size goes down 4×).
  const used = new Set(nodes.flatMap((n) => n.input));
  graph.initializer = [...graph.initializer.filter((t) => used.has(t.name)), ...added];
  return { quantized, skipped };
}

function gemmAttributes(node: Node): { transA: number; transB: number; alpha: number; beta: number } {
  const get = (name: string) => node.attribute.find((a) => a.name === name);
  return {
    transA: Number(get('transA')?.i ?? 0),
    transB: Number(get('transB')?.i ?? 0),
    alpha: get('alpha')?.f ?? 1,
    beta: get('beta')?.f ?? 1,
  };
}

function op(opType: string, input: string[], output: string[], name: string, attribute: Attribute[] = []): Node {
  return { name, op_type: opType, domain: '', input, output, attribute };
}

function floatTensor(name: string, values: Float32Array, dims: number[]): Tensor {
  return { name, dims, data_type: DT.FLOAT, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function floatValues(tensor: Tensor, file: string): Float32Array {
  const count = tensor.dims.reduce<number>((p, d) => p * Number(d), 1);
  if (tensor.raw_data && tensor.raw_data.length > 0) {
    if (tensor.raw_data.length !== count * 4) {
      throw new VigilInputError(`${file}: initializer ${tensor.name} has ${tensor.raw_data.length} bytes for ${count} float32 values`, { subject: file });
    }
    // Copy: raw_data may be an unaligned view into the file's bytes.
    const copy = new Uint8Array(tensor.raw_data);
    return new Float32Array(copy.buffer, 0, count);
  }
  if (tensor.float_data?.length === count) return Float32Array.from(tensor.float_data);
  throw new VigilInputError(`${file}: initializer ${tensor.name} holds no data for its ${count} values`, { subject: file });
}

function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/**
 * Symmetric int8 quantisation of a row-major K×N matrix: q = round(w / s) in [-127, 127] with
 * s = max|w| / 127 per column (per-channel) or over the whole matrix. A column of zeros gets s = 1.
 */
export function quantizeColumns(values: Float32Array, k: number, n: number, perChannel: boolean): { q: Int8Array; scales: Float32Array } {
  const maxAbs = new Float32Array(perChannel ? n : 1);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const v = Math.abs(values[r * n + c]);
      const slot = perChannel ? c : 0;
      if (v > maxAbs[slot]) maxAbs[slot] = v;
    }
  }
  const scales = maxAbs.map((m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(k * n);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const s = scales[perChannel ? c : 0];
      q[r * n + c] = Math.max(-127, Math.min(127, Math.round(values[r * n + c] / s)));
    }
  }
  // MatMulInteger's b_zero_point is per column when B is quantised per column; give it one per column either way.
  return { q, scales: perChannel ? scales : new Float32Array(n).fill(scales[0]) };
}
