/**
 * Detection and semantic-segmentation model folders in the Hugging Face / Optimum ONNX layout:
 * config.json, preprocessor_config.json and onnx/model.onnx.
 * - detection (DetrForObjectDetection, YolosForObjectDetection, ...): inputs `pixel_values` and,
 *   when the graph has it, `pixel_mask`; outputs `logits` [B, Q, C + 1] (the last class is
 *   "no object") and `pred_boxes` [B, Q, 4] (normalised cx, cy, w, h); labels from id2label.
 * - segmentation (SegformerForSemanticSegmentation, DPTForSemanticSegmentation, ...): input
 *   `pixel_values`, output `logits` [B, C, h, w] at a fraction of the input size.
 * Every problem names the folder, the file and what was expected.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { describeValue, errorMessage, VigilInputError } from '../core/errors.js';
import { MAX_CONFIG_BYTES, readInputFile, sha256File, sha256Hex } from '../core/files.js';
import { DEFAULT_PIXEL_LIMIT } from '../vision/images.js';
import { labelsFromConfig } from '../vision/model.js';
import { parsePreprocessorConfig } from '../vision/preprocessing.js';
import { createSession } from '../vision/session.js';
import type { Device, ExecutionProvider, ModelStats, PreprocessConfig } from '../vision/types.js';

export type DenseModelKind = 'detection' | 'segmentation';

export interface DenseModel {
  kind: DenseModelKind;
  dir: string;
  /** Hash over the sha256 of the model's files: the cache key's model part. */
  sha256: string;
  files: { path: string; bytes: number; sha256: string }[];
  architecture: string;
  modelType: string;
  /** Class names by index (detection: without the trailing no-object class). */
  labels: string[];
  preprocessing: PreprocessConfig;
  preprocessingKey: string;
  provider: ExecutionProvider;
  pixelLimit: number;
  session: InferenceSession;
  /** The graph takes a pixel_mask (DETR); it is all ones for unpadded, fixed-size inputs. */
  pixelMask: boolean;
  /**
   * DETR's variable-size input (graph with dynamic height and width and a pixel_mask, processor
   * size {shortest_edge, longest_edge}): each image resized by its own aspect ratio, a batch padded
   * to its largest image. null: every image is resized to `preprocessing.inputSize`.
   */
  variableSize: { shortestEdge: number; longestEdge: number | null } | null;
  /** Detection: queries per image. Segmentation: logits height and width. */
  queries: number | null;
  stats: ModelStats;
  release(): Promise<void>;
}

const CONFIG = 'config.json';
const PREPROCESSOR = 'preprocessor_config.json';
const GRAPH = 'onnx/model.onnx';

const DETECTION_TYPES = new Set(['detr', 'yolos', 'conditional_detr', 'deformable_detr', 'table-transformer', 'deta']);
const SEGMENTATION_TYPES = new Set(['segformer', 'dpt', 'upernet', 'mobilevit', 'beit']);

/** The kind a config.json describes, or null when it is neither a detector nor a semantic segmenter. */
export function denseKindOf(config: Record<string, unknown>): DenseModelKind | null {
  const architectures = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === 'string') : [];
  if (architectures.some((a) => a.endsWith('ForObjectDetection'))) return 'detection';
  if (architectures.some((a) => a.endsWith('ForSemanticSegmentation'))) return 'segmentation';
  const type = typeof config.model_type === 'string' ? config.model_type : '';
  if (architectures.length === 0 && DETECTION_TYPES.has(type)) return 'detection';
  if (architectures.length === 0 && SEGMENTATION_TYPES.has(type)) return 'segmentation';
  return null;
}

async function readJson(dir: string, file: string): Promise<Record<string, unknown>> {
  const path = join(dir, file);
  if (!existsSync(path)) throw new VigilInputError(`Model folder ${dir}: missing ${file}`, { subject: path });
  const text = (await readInputFile(path, { what: 'the model file', maxBytes: MAX_CONFIG_BYTES })).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new VigilInputError(`Model folder ${dir}: ${file} is not valid JSON (${errorMessage(error)})`, { subject: path });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new VigilInputError(`Model folder ${dir}: expected ${file} to hold a JSON object`, { subject: path });
  return parsed as Record<string, unknown>;
}

/**
 * DETR's processor size {"shortest_edge": s, "longest_edge": l} (l optional), or null for any other
 * size (the shared parser then reads and checks it).
 */
function variableSizeOf(size: unknown): { shortestEdge: number; longestEdge: number | null } | null {
  if (size === null || typeof size !== 'object' || Array.isArray(size)) return null;
  const { shortest_edge: shortest, longest_edge: longest } = size as Record<string, unknown>;
  const isDim = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!isDim(shortest) || (longest !== undefined && !isDim(longest))) return null;
  return { shortestEdge: shortest, longestEdge: longest ?? null };
}

/** Loads a detection or semantic-segmentation folder; `expected` rejects the other kind. */
export async function loadDenseModel(dir: string, options: { device?: Device; expected?: DenseModelKind; pixelLimit?: number } = {}): Promise<DenseModel> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new VigilInputError(`Model folder ${dir} does not exist or is not a folder`, { subject: dir });
  const config = await readJson(root, CONFIG);
  const kind = denseKindOf(config);
  const configLabel = join(dir, CONFIG);
  if (kind === null) {
    throw new VigilInputError(
      `Model folder ${dir}: ${CONFIG} describes neither an object detector (architectures *ForObjectDetection, e.g. DetrForObjectDetection, YolosForObjectDetection) nor a semantic segmenter (*ForSemanticSegmentation) but ${describeValue(config.architectures ?? config.model_type)}`,
      { subject: configLabel },
    );
  }
  if (options.expected && kind !== options.expected) {
    throw new VigilInputError(`Model folder ${dir} holds a ${kind} model but this needs a ${options.expected} model`, { subject: configLabel });
  }
  const processorJson = await readJson(root, PREPROCESSOR);
  const edges = processorJson.do_resize === false ? null : variableSizeOf(processorJson.size);
  // The shared parser reads the fixed-size part of the config; a shortest-edge size is given to it
  // as a nominal square and kept as the variable size (checked against the graph below).
  let preprocessing = parsePreprocessorConfig(edges ? { ...processorJson, size: { height: edges.shortestEdge, width: edges.shortestEdge } } : processorJson, join(dir, PREPROCESSOR), true);
  if (edges) preprocessing = { ...preprocessing, resize: { shortestEdge: edges.shortestEdge } };
  if (kind === 'detection' && preprocessing.doCenterCrop) {
    // transformers' detection processors never crop: boxes are relative to the whole image.
    throw new VigilInputError(`${join(dir, PREPROCESSOR)}: a detector's preprocessing must not center-crop (boxes are relative to the whole image); set do_center_crop to false`, { subject: join(dir, PREPROCESSOR) });
  }
  const graphPath = join(root, GRAPH);
  if (!existsSync(graphPath)) throw new VigilInputError(`Model folder ${dir}: missing ${GRAPH}`, { subject: join(dir, GRAPH) });
  const { session, provider } = await createSession(graphPath, { device: options.device });
  const labels = labelsFromConfig(config, configLabel, { sparse: true });
  const fail = (expected: string): never => {
    throw new VigilInputError(`Model folder ${dir}: expected ${GRAPH} to have ${expected}`, { subject: join(dir, GRAPH) });
  };
  const input = (name: string) => session.inputMetadata.find((m) => m.name === name);
  const output = (name: string) => session.outputMetadata.find((m) => m.name === name);
  const shapeOf = (meta: InferenceSession.ValueMetadata | undefined): (number | string)[] => (meta && meta.isTensor ? meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))) : []);
  const pixels = shapeOf(input('pixel_values'));
  if (pixels.length !== 4) fail(`an input "pixel_values" [batch, 3, height, width] (inputs: ${session.inputNames.join(', ')})`);
  const pixelMask = input('pixel_mask') !== undefined;
  if (edges) {
    if (kind !== 'detection' || !pixelMask || typeof pixels[2] === 'number' || typeof pixels[3] === 'number') {
      fail(`a dynamic height and width in "pixel_values" [${pixels.join(', ')}] and a "pixel_mask" input, as ${PREPROCESSOR}'s size ${JSON.stringify(processorJson.size)} resizes each image by its own aspect ratio (DETR); a fixed-size model needs size {"height", "width"}`);
    }
  } else {
    const { height, width } = preprocessing.inputSize;
    if ((typeof pixels[2] === 'number' && pixels[2] !== height) || (typeof pixels[3] === 'number' && pixels[3] !== width)) {
      fail(`"pixel_values" of ${height}×${width} (the ${PREPROCESSOR} size) but its shape is [${pixels.join(', ')}]`);
    }
  }
  const extra = session.inputNames.filter((n) => n !== 'pixel_values' && n !== 'pixel_mask');
  if (extra.length > 0) fail(`only the inputs pixel_values and pixel_mask but it also has ${extra.join(', ')}`);
  let queries: number | null = null;
  if (kind === 'detection') {
    const logits = shapeOf(output('logits'));
    const boxes = shapeOf(output('pred_boxes'));
    if (logits.length !== 3) fail(`an output "logits" [batch, queries, classes + 1] (outputs: ${session.outputNames.join(', ')})`);
    if (boxes.length !== 3) fail(`an output "pred_boxes" [batch, queries, 4] (outputs: ${session.outputNames.join(', ')})`);
    if (typeof boxes[2] === 'number' && boxes[2] !== 4) fail(`"pred_boxes" with 4 values per query but its shape is [${boxes.join(', ')}]`);
    if (typeof logits[2] === 'number' && logits[2] !== labels.length + 1) {
      fail(`"logits" with ${labels.length + 1} classes (id2label's ${labels.length} + no-object) but its shape is [${logits.join(', ')}]`);
    }
    queries = typeof logits[1] === 'number' ? logits[1] : null;
  } else {
    const logits = shapeOf(output('logits'));
    if (logits.length !== 4) fail(`an output "logits" [batch, classes, height, width] (outputs: ${session.outputNames.join(', ')})`);
    if (typeof logits[1] === 'number' && logits[1] !== labels.length) fail(`"logits" with ${labels.length} classes (id2label) but its shape is [${logits.join(', ')}]`);
  }
  const files = await Promise.all(
    [GRAPH, CONFIG, PREPROCESSOR].map(async (path) => {
      const full = join(root, path);
      const [sha256, s] = await Promise.all([sha256File(full), stat(full)]);
      return { path, bytes: s.size, sha256 };
    }),
  );
  const stats: ModelStats = { imagesInferred: 0, batchesRun: 0, cacheHits: 0 };
  return {
    kind,
    dir: root,
    sha256: sha256Hex(files.map((f) => `${f.path} ${f.sha256}\n`).join('')),
    files,
    architecture: (Array.isArray(config.architectures) && typeof config.architectures[0] === 'string' ? config.architectures[0] : String(config.model_type)) as string,
    modelType: typeof config.model_type === 'string' ? config.model_type : '',
    labels,
    preprocessing,
    preprocessingKey: sha256Hex(JSON.stringify(edges ? { preprocessing, variableSize: edges } : preprocessing)).slice(0, 16),
    provider,
    pixelLimit: options.pixelLimit ?? DEFAULT_PIXEL_LIMIT,
    session,
    pixelMask,
    variableSize: edges,
    queries,
    stats,
    release: () => session.release(),
  };
}

/** What `vigil models info` shows for a detection or segmentation folder. */
export function describeDenseModel(model: DenseModel): Record<string, unknown> {
  return {
    kind: model.kind,
    dir: model.dir,
    sha256: model.sha256,
    provider: model.provider,
    architecture: model.architecture,
    files: model.files,
    labels: model.labels,
    inputs: model.session.inputNames,
    outputs: model.session.outputNames,
    preprocessing: model.preprocessing,
    details: model.kind === 'detection' ? { queries: model.queries, pixelMask: model.pixelMask, variableSize: model.variableSize } : {},
  };
}

/**
 * `vigil models info` for a detection or segmentation folder: its description and text lines, or
 * null when config.json describes neither (the vision stack's own kinds then handle the folder).
 */
export async function describeDenseFolder(dir: string, device: Device): Promise<{ info: Record<string, unknown>; text: string } | null> {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse((await readInputFile(join(resolve(dir), CONFIG), { maxBytes: MAX_CONFIG_BYTES })).toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (config === null || typeof config !== 'object' || denseKindOf(config) === null) return null;
  const model = await loadDenseModel(dir, { device });
  try {
    const info = describeDenseModel(model);
    const p = model.preprocessing;
    const lines = [
      `${dir}: ${model.kind} (${model.architecture}, provider ${model.provider})`,
      `sha256 ${model.sha256}`,
      `${GRAPH}`,
      ...model.session.inputMetadata.map((m) => `  in  ${m.name}${m.isTensor ? ` ${m.type} [${m.shape.join(', ')}]` : ''}`),
      ...model.session.outputMetadata.map((m) => `  out ${m.name}${m.isTensor ? ` ${m.type} [${m.shape.join(', ')}]` : ''}`),
      `input ${model.variableSize ? `variable (shortest edge ${model.variableSize.shortestEdge}, longest ${model.variableSize.longestEdge ?? 'unbounded'}; padded per batch)` : `${p.inputSize.height}x${p.inputSize.width}`}, resize ${p.doResize ? JSON.stringify(p.resize) : 'off'} (${p.kernel}), mean [${p.imageMean.join(', ')}], std [${p.imageStd.join(', ')}]`,
      ...(model.kind === 'detection' ? [`queries ${model.queries ?? 'dynamic'}, pixel_mask ${model.pixelMask ? 'yes' : 'no'}`] : []),
      `labels (${model.labels.length}): ${model.labels.join(', ')}`,
      'files:',
      ...model.files.map((f) => `  ${f.sha256}  ${f.bytes.toString().padStart(10)}  ${f.path}`),
    ];
    return { info, text: `${lines.join('\n')}\n` };
  } finally {
    await model.release();
  }
}
