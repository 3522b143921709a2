import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { describeValue, errorMessage, invalidArgument, VigilInputError } from '../core/errors.js';
import { MAX_CONFIG_BYTES, readInputFile, sha256File, sha256Hex } from '../core/files.js';
import { DEFAULT_PIXEL_LIMIT } from './images.js';
import { parsePreprocessorConfig } from './preprocessing.js';
import { z } from 'zod';
import { createSession, validateSessionSettings } from './session.js';
import { CPU_SPEED_ORDER, DTYPE_CHOICES, isDtypeChoice, variantFile, variantsPresent } from './dtype.js';
import { readCompareRecord } from './compare-record.js';
import { floatInput, floatOutput, textFeeds } from './feeds.js';
import { CLIP_CONTEXT_LENGTH, TextTokenizer } from './text.js';
import type {
  ClipIo,
  ClipModel,
  Dtype,
  DtypeChoice,
  ModelLayout,
  ExecutionProvider,
  GraphInfo,
  LoadModelOptions,
  MaeModel,
  ModelFile,
  ModelInfo,
  ModelKind,
  ModelStats,
  PreprocessConfig,
  TensorSpec,
  VisionModel,
  VitModel,
} from './types.js';

/** The tokenizer of a loaded CLIP model (kept off the public type: callers use embedTexts). */
const clipTokenizers = new WeakMap<ClipModel, TextTokenizer>();

export function tokenizerOf(model: ClipModel): TextTokenizer {
  const tokenizer = clipTokenizers.get(model);
  if (!tokenizer) {
    throw new VigilInputError(
      `Model folder ${model.dir} has only an image tower: text needs ${variantFile(BASES.text, 'fp32')} and ${FILES.tokenizer}`,
      { subject: model.dir },
    );
  }
  return tokenizer;
}

const FILES = {
  config: 'config.json',
  preprocessor: 'preprocessor_config.json',
  tokenizer: 'tokenizer.json',
  manifest: 'vigil-model.json',
  /** Written by `vigil models compare`: which variants hold the accuracy contract against fp32. */
  record: 'vigil-compare.json',
} as const;

/** Graph base names; each may exist in several variants (`onnx/model_quantized.onnx`, ...). */
export const BASES = {
  model: 'onnx/model',
  vision: 'onnx/vision_model',
  text: 'onnx/text_model',
  /** open_clip / clip-as-service exports. */
  visual: 'visual',
  textual: 'textual',
} as const;

/** Tokenizer side files a CLIP folder may carry; hashed when present since they describe the model. */
const OPTIONAL_CLIP_FILES = ['tokenizer_config.json', 'special_tokens_map.json'];

/** OpenAI CLIP's preprocessing, assumed for open_clip exports that ship no preprocessor_config.json. */
const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/**
 * Loads and validates a model folder. Three layouts are read:
 * - Hugging Face / Optimum / transformers.js (`onnx/*.onnx`, each graph possibly in several weight
 *   variants; `options.dtype` picks one per graph). The kind is detected from the files: a
 *   tokenizer.json or an `onnx/vision_model*.onnx` (or config model_type clip/siglip) means CLIP
 *   (a vision graph alone is an image tower: embeddings, no text); model_type vit_mae means MAE;
 *   otherwise a ViT classifier.
 * - open_clip / clip-as-service: `visual.onnx` + `textual.onnx` (77-token int32/int64 input).
 * - one graph described by `vigil-model.json` (input/output names, preprocessing, tokenizer).
 * Every problem is reported naming the folder, the file and what was expected.
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<VisionModel> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('dir', 'a model folder path', dir);
  validateSessionSettings(options);
  const pixelLimit = options.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  if (!Number.isInteger(pixelLimit) || pixelLimit < 1) throw invalidArgument('pixelLimit', 'a positive integer', pixelLimit);
  const dtype = options.dtype ?? 'fp32';
  if (!isDtypeChoice(dtype)) throw invalidArgument('dtype', `one of ${DTYPE_CHOICES.join(', ')}`, dtype);
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new VigilInputError(`Model folder ${dir} does not exist or is not a folder`, { subject: dir });

  const folder = new ModelFolder(dir, root);
  const settings = { device: options.device, intraOpThreads: options.intraOpThreads };
  const common = { folder, pixelLimit, settings, dtype };
  if (folder.has(FILES.manifest)) return loadManifest(common);
  if (folder.hasGraph(BASES.visual) || folder.hasGraph(BASES.textual)) return loadOpenClip(common);

  const config = await folder.json(FILES.config);
  const kind = await detectKind(folder, config);
  const preprocessing = parsePreprocessorConfig(
    await folder.json(FILES.preprocessor),
    folder.label(FILES.preprocessor),
    kind !== 'clip',
  );
  const loaded: LoadedParts = { ...common, config, preprocessing };
  switch (kind) {
    case 'vit':
      return loadVit(loaded);
    case 'clip':
      return loadHfClip(loaded);
    case 'mae':
      return loadMae(loaded);
  }
}

interface CommonParts {
  folder: ModelFolder;
  pixelLimit: number;
  settings: { device: LoadModelOptions['device']; intraOpThreads: number | undefined };
  dtype: DtypeChoice;
}

interface LoadedParts extends CommonParts {
  config: Record<string, unknown>;
  preprocessing: PreprocessConfig;
}

async function detectKind(folder: ModelFolder, config: Record<string, unknown>): Promise<ModelKind> {
  const modelType = typeof config.model_type === 'string' ? config.model_type : '';
  if (folder.hasGraph(BASES.vision) || folder.has(FILES.tokenizer) || modelType === 'clip' || modelType === 'siglip') return 'clip';
  if (modelType === 'vit_mae') return 'mae';
  if (!folder.hasGraph(BASES.model)) {
    throw new VigilInputError(
      `Model folder ${folder.dir}: missing ${variantFile(BASES.model, 'fp32')} (expected a Hugging Face / Optimum ONNX export: ` +
        `onnx/model.onnx for ViT or MAE, onnx/vision_model.onnx + onnx/text_model.onnx + ${FILES.tokenizer} for CLIP, ` +
        `visual.onnx + textual.onnx for open_clip, or a ${FILES.manifest} manifest)`,
      { subject: folder.label(variantFile(BASES.model, 'fp32')) },
    );
  }
  return 'vit';
}

function baseModel(
  parts: CommonParts & { config: Record<string, unknown>; preprocessing: PreprocessConfig },
  layout: ModelLayout,
  files: ModelFile[],
  graphs: GraphInfo[],
  provider: ExecutionProvider,
  sessions: InferenceSession[],
) {
  const stats: ModelStats = { imagesInferred: 0, batchesRun: 0, cacheHits: 0 };
  const unique = [...new Set(sessions)];
  return {
    dir: parts.folder.root,
    sha256: sha256Hex(
      [...files]
        .sort((a, b) => a.path.localeCompare(b.path))
        .map((f) => `${f.path} ${f.sha256}\n`)
        .join(''),
    ),
    files,
    graphs,
    preprocessing: parts.preprocessing,
    preprocessingKey: sha256Hex(JSON.stringify(parts.preprocessing)).slice(0, 16),
    provider,
    dtype: graphs[0].dtype,
    layout,
    pixelLimit: parts.pixelLimit,
    config: parts.config,
    stats,
    release: async () => {
      await Promise.all(unique.map((s) => s.release()));
    },
  };
}

async function loadVit(parts: LoadedParts): Promise<VitModel> {
  const { folder, config } = parts;
  const labels = labelsFromConfig(config, folder.label(FILES.config));
  const { session, provider, graph } = await folder.graph(BASES.model, parts);
  const check = new GraphCheck(folder, graph);
  check.pixelInput(parts.preprocessing);
  const logits = check.output('logits', 2);
  if (typeof logits.shape[1] === 'number' && logits.shape[1] !== labels.length) {
    throw new VigilInputError(
      `Model folder ${folder.dir}: ${graph.file} output "logits" has ${logits.shape[1]} classes but ` +
        `${FILES.config} id2label has ${labels.length} labels`,
      { subject: folder.label(graph.file) },
    );
  }
  const files = await folder.hash([graph.file, FILES.config, FILES.preprocessor]);
  return { kind: 'vit', ...baseModel(parts, 'hf', files, [graph], provider, [session]), labels, session };
}

/** A loaded graph: its session, the provider it got and its declared inputs/outputs. */
interface LoadedGraph {
  session: InferenceSession;
  provider: ExecutionProvider;
  graph: GraphInfo;
}

/** Everything a CLIP-style model is assembled from, whatever the folder layout. */
interface ClipParts {
  layout: ModelLayout;
  config: Record<string, unknown>;
  preprocessing: PreprocessConfig;
  vision: LoadedGraph;
  /** The text graph; the vision one again for a combined graph; null for an image tower alone. */
  text: LoadedGraph | null;
  combined: boolean;
  io: ClipIo;
  tokenizerFile: string | null;
  /** Token sequence length the text graph is fed at, when the layout fixes it (open_clip: 77). */
  fixedLength: number | null;
  contextLength: number;
  scoring: ClipModel['scoring'];
  /** exp of the log-scale, and the bias (an image tower alone has neither: scale 1, bias 0). */
  logit: { scale: number; bias: number };
  /** Extra folder files the model depends on (hashed into model.sha256). */
  describedBy: string[];
}

async function loadHfClip(parts: LoadedParts): Promise<ClipModel> {
  const { folder, config } = parts;
  const siglip = config.model_type === 'siglip';
  const separate = folder.hasGraph(BASES.vision) || folder.hasGraph(BASES.text);
  // An image tower alone (a vision graph, no text graph, no tokenizer) embeds images; text needs both.
  const imageOnly = folder.hasGraph(BASES.vision) && !folder.hasGraph(BASES.text) && !folder.has(FILES.tokenizer);
  if (separate && !imageOnly) {
    for (const base of [BASES.vision, BASES.text]) {
      if (!folder.hasGraph(base)) {
        throw new VigilInputError(
          `Model folder ${folder.dir}: missing ${variantFile(base, 'fp32')} (a CLIP export needs both onnx/vision_model.onnx and onnx/text_model.onnx, or a combined onnx/model.onnx)`,
          { subject: folder.label(variantFile(base, 'fp32')) },
        );
      }
    }
  } else if (!separate && !folder.hasGraph(BASES.model)) {
    throw new VigilInputError(
      `Model folder ${folder.dir}: missing onnx/vision_model.onnx and onnx/text_model.onnx (or a combined onnx/model.onnx) for CLIP`,
      { subject: folder.label(variantFile(BASES.vision, 'fp32')) },
    );
  }
  if (!imageOnly && !folder.has(FILES.tokenizer)) {
    throw new VigilInputError(`Model folder ${folder.dir}: missing ${FILES.tokenizer} (CLIP needs its tokenizer)`, {
      subject: folder.label(FILES.tokenizer),
    });
  }

  let vision: LoadedGraph;
  let text: LoadedGraph | null = null;
  if (separate) {
    vision = await folder.graph(BASES.vision, parts);
    // The text tower follows the provider the vision tower got, so `auto` resolves once.
    if (!imageOnly) text = await folder.graph(BASES.text, { ...parts, settings: { ...parts.settings, device: vision.provider } });
  } else {
    vision = await folder.graph(BASES.model, parts);
    text = vision;
  }
  // SigLIP's split towers (transformers.js exports) output pooler_output, which for SigLIP is the
  // embedding; CLIP's pooler_output is before the projection, so CLIP must have *_embeds.
  const embedNames = (name: string) => (siglip && separate ? [name, 'pooler_output'] : [name]);
  const visionCheck = new GraphCheck(folder, vision.graph);
  const io: ClipIo = {
    pixels: visionCheck.pixelInput(parts.preprocessing).name,
    imageEmbeds: visionCheck.outputOneOf(embedNames('image_embeds'), 2).name,
    inputIds: '',
    attentionMask: null,
    textEmbeds: '',
  };
  if (text !== null) {
    const textCheck = new GraphCheck(folder, text.graph);
    io.inputIds = textCheck.input('input_ids', 2).name;
    io.attentionMask = text.graph.inputs.some((i) => i.name === 'attention_mask') ? 'attention_mask' : null;
    io.textEmbeds = textCheck.outputOneOf(embedNames('text_embeds'), 2).name;
  }
  const textConfig = (config.text_config ?? {}) as Record<string, unknown>;
  const contextLength =
    typeof textConfig.max_position_embeddings === 'number' ? textConfig.max_position_embeddings : CLIP_CONTEXT_LENGTH;
  const logScale = optionalNumber(config, 'logit_scale', folder.label(FILES.config));
  const bias = optionalNumber(config, 'logit_bias', folder.label(FILES.config));
  let logit: ClipParts['logit'] | null;
  /** The combined graph read for SigLIP's scale and bias: it shapes the outputs, so it is hashed too. */
  let calibratedBy: string[] = [];
  if (siglip) {
    // SigLIP keeps logit_scale and logit_bias in the weights, not in config.json; a combined graph
    // reveals them through logits_per_image.
    logit = logScale !== undefined && bias !== undefined ? { scale: Math.exp(logScale), bias } : null;
    if (logit === null && text !== null && folder.hasGraph(BASES.model)) {
      const combined = separate ? await folder.graph(BASES.model, { ...parts, settings: { ...parts.settings, device: vision.provider } }) : vision;
      try {
        const tokenizer = new TextTokenizer(await folder.json(FILES.tokenizer), folder.label(FILES.tokenizer), { contextLength, fixedLength: null });
        logit = await logitsFromCombinedGraph(folder, combined, tokenizer, parts.preprocessing);
        if (combined !== vision) calibratedBy = [combined.graph.file];
      } finally {
        if (combined !== vision) await combined.session.release();
      }
    }
    if (logit === null && text !== null) {
      throw new VigilInputError(
        `Model folder ${folder.dir}: SigLIP needs its logit_scale (log) and logit_bias: add both to ${FILES.config}, or keep the combined onnx/model.onnx (its logits_per_image reveals them)`,
        { subject: folder.label(FILES.config) },
      );
    }
  } else {
    // config.json carries the learned log-scale; CLIP clamps the scale at 100, its trained value.
    logit = { scale: logScale !== undefined ? Math.min(Math.exp(logScale), 100) : 100, bias: bias ?? 0 };
  }
  return assembleClip(parts, {
    layout: 'hf',
    config,
    preprocessing: parts.preprocessing,
    vision,
    text,
    combined: !separate,
    io,
    tokenizerFile: text === null ? null : FILES.tokenizer,
    fixedLength: null,
    contextLength,
    scoring: siglip ? 'sigmoid' : 'softmax',
    // Only an image tower alone has no zero-shot scale (it cannot classify).
    logit: logit ?? { scale: 1, bias: 0 },
    describedBy: [FILES.config, FILES.preprocessor, ...calibratedBy],
  });
}

/** open_clip / clip-as-service: visual.onnx (N×3×H×W → N×D) and textual.onnx (N×77 ids → N×D). */
async function loadOpenClip(parts: CommonParts): Promise<ClipModel> {
  const { folder } = parts;
  if (!folder.hasGraph(BASES.visual)) {
    throw new VigilInputError(`Model folder ${folder.dir}: has textual.onnx but no visual.onnx (open_clip layout needs both)`, {
      subject: folder.label('visual.onnx'),
    });
  }
  const config = folder.has(FILES.config) ? await folder.json(FILES.config) : {};
  const vision = await folder.graph(BASES.visual, parts);
  const text = folder.hasGraph(BASES.textual)
    ? await folder.graph(BASES.textual, { ...parts, settings: { ...parts.settings, device: vision.provider } })
    : null;
  if (text !== null && !folder.has(FILES.tokenizer)) {
    throw new VigilInputError(
      `Model folder ${folder.dir}: missing ${FILES.tokenizer} (open_clip's textual.onnx needs CLIP's BPE tokenizer: copy tokenizer.json from the matching Hugging Face CLIP repository)`,
      { subject: folder.label(FILES.tokenizer) },
    );
  }
  const visionCheck = new GraphCheck(folder, vision.graph);
  const pixels = visionCheck.onlyInput(4, ['float32', 'float16']);
  const preprocessing = folder.has(FILES.preprocessor)
    ? parsePreprocessorConfig(await folder.json(FILES.preprocessor), folder.label(FILES.preprocessor), false)
    : openAiClipPreprocessing(folder, vision.graph, pixels);
  visionCheck.pixelInput(preprocessing, pixels.name);
  const io: ClipIo = {
    pixels: pixels.name,
    imageEmbeds: visionCheck.firstOutput(2).name,
    inputIds: '',
    attentionMask: null,
    textEmbeds: '',
  };
  let fixedLength: number | null = null;
  if (text !== null) {
    const textCheck = new GraphCheck(folder, text.graph);
    const ids = textCheck.tokenInput();
    io.inputIds = ids.name;
    io.attentionMask = text.graph.inputs.some((i) => i.name === 'attention_mask') ? 'attention_mask' : null;
    io.textEmbeds = textCheck.firstOutput(2).name;
    // open_clip's text transformer has 77 learned positions and pools at argmax(ids): always 77.
    fixedLength = typeof ids.shape[1] === 'number' ? ids.shape[1] : CLIP_CONTEXT_LENGTH;
  }
  const logScale = optionalNumber(config, 'logit_scale', folder.label(FILES.config));
  return assembleClip(parts, {
    layout: 'open_clip',
    config,
    preprocessing,
    vision,
    text,
    combined: false,
    io,
    tokenizerFile: text === null ? null : FILES.tokenizer,
    fixedLength,
    contextLength: fixedLength ?? CLIP_CONTEXT_LENGTH,
    scoring: 'softmax',
    logit: { scale: logScale !== undefined ? Math.min(Math.exp(logScale), 100) : 100, bias: 0 },
    describedBy: [FILES.config, FILES.preprocessor].filter((f) => folder.has(f)),
  });
}

function openAiClipPreprocessing(folder: ModelFolder, graph: GraphInfo, pixels: TensorSpec): PreprocessConfig {
  const [height, width] = [pixels.shape[2], pixels.shape[3]];
  if (typeof height !== 'number' || typeof width !== 'number' || height !== width) {
    throw new VigilInputError(
      `Model folder ${folder.dir}: ${graph.file} input "${pixels.name}" has no fixed square size ([${pixels.shape.join(', ')}]); add a ${FILES.preprocessor}`,
      { subject: folder.label(FILES.preprocessor) },
    );
  }
  return parsePreprocessorConfig(
    {
      do_resize: true,
      size: { shortest_edge: height },
      resample: 3,
      do_center_crop: true,
      crop_size: { height, width },
      image_mean: OPENAI_CLIP_MEAN,
      image_std: OPENAI_CLIP_STD,
    },
    `${folder.label(graph.file)} (OpenAI CLIP preprocessing assumed)`,
    false,
  );
}

const manifestSchema = z
  .object({
    format: z.literal('vigil-model/1'),
    kind: z.enum(['clip', 'siglip']),
    graph: z.string().min(1),
    inputs: z.object({ pixels: z.string().min(1), inputIds: z.string().min(1).optional(), attentionMask: z.string().min(1).optional() }).strict(),
    outputs: z.object({ imageEmbeds: z.string().min(1), textEmbeds: z.string().min(1).optional() }).strict(),
    preprocessing: z.string().min(1).default(FILES.preprocessor),
    tokenizer: z.string().min(1).optional(),
    contextLength: z.number().int().positive().optional(),
    logitScale: z.number().finite().optional(),
    logitBias: z.number().finite().optional(),
  })
  .strict();

/**
 * The vigil-model.json manifest of a single-graph export: which file, which input/output names,
 * the preprocessing and tokenizer files (relative to the folder), and the zero-shot scale and bias
 * (`logitScale` is the log of the scale, as CLIP and SigLIP store it).
 */
export type ModelManifest = z.infer<typeof manifestSchema>;

async function loadManifest(parts: CommonParts): Promise<ClipModel> {
  const { folder } = parts;
  const label = folder.label(FILES.manifest);
  const parsed = manifestSchema.safeParse(await folder.json(FILES.manifest));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VigilInputError(
      `${label}: field ${issue.path.join('.') || '(root)'}: ${issue.message} (expected format "vigil-model/1", kind clip|siglip, graph, inputs.pixels, outputs.imageEmbeds; see docs/vision.md)`,
      { subject: label },
    );
  }
  const manifest = parsed.data;
  for (const [field, path] of [['graph', manifest.graph], ['preprocessing', manifest.preprocessing], ['tokenizer', manifest.tokenizer]] as const) {
    if (path !== undefined && !insideFolder(path)) {
      throw new VigilInputError(`${label}: field ${field} must be a path inside the model folder but is ${JSON.stringify(path)}`, { subject: label });
    }
  }
  if (!manifest.graph.endsWith('.onnx')) {
    throw new VigilInputError(`${label}: field graph must name an .onnx file but is ${JSON.stringify(manifest.graph)}`, { subject: label });
  }
  const hasText = manifest.inputs.inputIds !== undefined;
  if (hasText !== (manifest.outputs.textEmbeds !== undefined) || hasText !== (manifest.tokenizer !== undefined)) {
    throw new VigilInputError(`${label}: inputs.inputIds, outputs.textEmbeds and tokenizer go together (all three for text, none for an image tower)`, {
      subject: label,
    });
  }
  const config = folder.has(FILES.config) ? await folder.json(FILES.config) : {};
  const preprocessing = parsePreprocessorConfig(await folder.json(manifest.preprocessing), folder.label(manifest.preprocessing), false);
  const vision = await folder.graph(manifest.graph.slice(0, -'.onnx'.length), parts);
  const check = new GraphCheck(folder, vision.graph);
  check.pixelInput(preprocessing, manifest.inputs.pixels);
  check.output(manifest.outputs.imageEmbeds, 2);
  let fixedLength: number | null = null;
  if (hasText) {
    const ids = check.input(manifest.inputs.inputIds!, 2);
    if (!ids.type.startsWith('int')) check.fail(`input "${ids.name}" to be int32 or int64 token ids but it is ${ids.type}`);
    if (manifest.inputs.attentionMask !== undefined) check.input(manifest.inputs.attentionMask, 2);
    check.output(manifest.outputs.textEmbeds!, 2);
    fixedLength = typeof ids.shape[1] === 'number' ? ids.shape[1] : null;
  }
  const siglip = manifest.kind === 'siglip';
  const scale = manifest.logitScale !== undefined ? Math.exp(manifest.logitScale) : siglip ? undefined : 100;
  if (scale === undefined || (siglip && manifest.logitBias === undefined)) {
    throw new VigilInputError(`${label}: a SigLIP manifest needs logitScale (the log of the scale) and logitBias`, { subject: label });
  }
  return assembleClip(parts, {
    layout: 'manifest',
    config,
    preprocessing,
    vision,
    text: hasText ? vision : null,
    combined: hasText,
    io: {
      pixels: manifest.inputs.pixels,
      imageEmbeds: manifest.outputs.imageEmbeds,
      inputIds: manifest.inputs.inputIds ?? '',
      attentionMask: manifest.inputs.attentionMask ?? null,
      textEmbeds: manifest.outputs.textEmbeds ?? '',
    },
    tokenizerFile: manifest.tokenizer ?? null,
    fixedLength,
    contextLength: manifest.contextLength ?? fixedLength ?? CLIP_CONTEXT_LENGTH,
    scoring: siglip ? 'sigmoid' : 'softmax',
    logit: { scale: siglip ? scale : Math.min(scale, 100), bias: manifest.logitBias ?? 0 },
    describedBy: [FILES.manifest, manifest.preprocessing, ...(folder.has(FILES.config) ? [FILES.config] : [])],
  });
}

/**
 * The graph base names of a folder's fp32 graphs, whatever its layout (`onnx/vision_model`,
 * `visual`, the manifest's graph): what `vigil models quantize` writes variants of.
 */
export async function fp32GraphBases(dir: string): Promise<string[]> {
  const folder = new ModelFolder(dir, resolve(dir));
  if (folder.has(FILES.manifest)) {
    const parsed = manifestSchema.safeParse(await folder.json(FILES.manifest));
    if (!parsed.success || !insideFolder(parsed.data.graph) || !parsed.data.graph.endsWith('.onnx')) {
      throw new VigilInputError(`${folder.label(FILES.manifest)}: not a valid vigil-model/1 manifest (run vigil models info ${dir} for the details)`, {
        subject: folder.label(FILES.manifest),
      });
    }
    return [parsed.data.graph.slice(0, -'.onnx'.length)];
  }
  return Object.values(BASES).filter((base) => folder.has(variantFile(base, 'fp32')));
}

/** A relative path that stays inside the folder (no absolute paths, no `..`). */
function insideFolder(path: string): boolean {
  return !isAbsolute(path) && !path.split(/[\\/]/).includes('..') && !path.includes('\0');
}

async function assembleClip(parts: CommonParts, clip: ClipParts): Promise<ClipModel> {
  const { folder } = parts;
  const imageDim = clip.vision.graph.outputs.find((o) => o.name === clip.io.imageEmbeds)!.shape[1];
  const projection = typeof clip.config.projection_dim === 'number' ? clip.config.projection_dim : undefined;
  let tokenizer: TextTokenizer | null = null;
  if (clip.text !== null && clip.tokenizerFile !== null) {
    const textDim = clip.text.graph.outputs.find((o) => o.name === clip.io.textEmbeds)!.shape[1];
    if (typeof imageDim === 'number' && typeof textDim === 'number' && imageDim !== textDim) {
      throw new VigilInputError(
        `Model folder ${folder.dir}: ${clip.io.imageEmbeds} width ${imageDim} differs from ${clip.io.textEmbeds} width ${textDim}`,
        { subject: folder.label(clip.vision.graph.file) },
      );
    }
    const idsSpec = clip.text.graph.inputs.find((i) => i.name === clip.io.inputIds)!;
    const graphLength = typeof idsSpec.shape[1] === 'number' ? idsSpec.shape[1] : null;
    tokenizer = new TextTokenizer(await folder.json(clip.tokenizerFile), folder.label(clip.tokenizerFile), {
      contextLength: clip.contextLength,
      fixedLength: clip.fixedLength ?? graphLength,
    });
  }
  const graphs = clip.text === null || clip.text === clip.vision ? [clip.vision.graph] : [clip.vision.graph, clip.text.graph];
  const textFiles =
    tokenizer === null ? [] : [clip.tokenizerFile!, ...(clip.layout === 'hf' ? OPTIONAL_CLIP_FILES.filter((f) => folder.has(f)) : [])];
  const files = await folder.hash([...graphs.map((g) => g.file), ...textFiles, ...clip.describedBy]);
  const sessions = clip.text === null ? [clip.vision.session] : [clip.vision.session, clip.text.session];
  const model: ClipModel = {
    kind: 'clip',
    ...baseModel({ ...parts, config: clip.config, preprocessing: clip.preprocessing }, clip.layout, files, graphs, clip.vision.provider, sessions),
    visionSession: clip.vision.session,
    textSession: clip.text?.session ?? null,
    combined: clip.combined,
    logitScale: clip.logit.scale,
    logitBias: clip.logit.bias,
    scoring: clip.scoring,
    io: clip.io,
    contextLength: tokenizer?.maxLength ?? 0,
    embeddingSize: typeof imageDim === 'number' ? imageDim : (projection ?? 0),
  };
  if (tokenizer !== null) clipTokenizers.set(model, tokenizer);
  return model;
}

/**
 * Reads a combined graph's zero-shot scale and bias from its own logits_per_image: for one image
 * and two texts, logit = scale × cosine + bias gives two equations in the two unknowns.
 */
async function logitsFromCombinedGraph(
  folder: ModelFolder,
  combined: LoadedGraph,
  tokenizer: TextTokenizer,
  preprocessing: PreprocessConfig,
): Promise<{ scale: number; bias: number }> {
  const { graph, session } = combined;
  const check = new GraphCheck(folder, graph);
  const io: ClipIo = {
    pixels: check.pixelInput(preprocessing).name,
    imageEmbeds: check.output('image_embeds', 2).name,
    inputIds: check.input('input_ids', 2).name,
    attentionMask: graph.inputs.some((i) => i.name === 'attention_mask') ? 'attention_mask' : null,
    textEmbeds: check.output('text_embeds', 2).name,
  };
  check.output('logits_per_image', 2);
  const { height, width } = preprocessing.inputSize;
  const pixels = new Float32Array(3 * height * width).map((_, i) => Math.sin(i * 0.37));
  const feeds = {
    ...textFeeds(graph, io, tokenizer, ['a photo of a cat', 'a diagram']),
    [io.pixels]: floatInput(graph.inputs.find((i) => i.name === io.pixels), pixels, [1, 3, height, width]),
  };
  const out = await session.run(feeds, ['logits_per_image', io.imageEmbeds, io.textEmbeds]);
  const where = folder.label(graph.file);
  const logits = floatOutput(out.logits_per_image, 'logits_per_image', where).data as Float32Array;
  const image = unit(floatOutput(out[io.imageEmbeds], io.imageEmbeds, where).data as Float32Array);
  const texts = floatOutput(out[io.textEmbeds], io.textEmbeds, where).data as Float32Array;
  const d = image.length;
  const cos = [0, 1].map((t) => dotProduct(image, unit(texts.slice(t * d, (t + 1) * d))));
  if (Math.abs(cos[0] - cos[1]) < 1e-4) {
    throw new VigilInputError(`${where}: cannot read logit_scale/logit_bias from logits_per_image; add them to ${FILES.config}`, {
      subject: where,
    });
  }
  const scale = (logits[0] - logits[1]) / (cos[0] - cos[1]);
  return { scale, bias: logits[0] - scale * cos[0] };
}

function unit(v: Float32Array): Float32Array {
  const norm = Math.sqrt(dotProduct(v, v));
  return norm > 0 ? v.map((x) => x / norm) : v;
}

function dotProduct(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function optionalNumber(json: Record<string, unknown>, field: string, file: string): number | undefined {
  const value = json[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new VigilInputError(`${file}: expected ${field} to be a number but received ${describeValue(value)}`, { subject: file });
  }
  return value;
}

async function loadMae(parts: LoadedParts): Promise<MaeModel> {
  const { folder, config } = parts;
  const configLabel = folder.label(FILES.config);
  const patchSize = config.patch_size;
  if (typeof patchSize !== 'number' || !Number.isInteger(patchSize) || patchSize < 1) {
    throw new VigilInputError(`${configLabel}: expected patch_size to be a positive integer but received ${describeValue(patchSize)}`, {
      subject: configLabel,
    });
  }
  const { height, width } = parts.preprocessing.inputSize;
  if (height % patchSize !== 0 || width % patchSize !== 0) {
    throw new VigilInputError(`${configLabel}: patch_size ${patchSize} does not divide the input size ${height}x${width}`, {
      subject: configLabel,
    });
  }
  const maskRatio = config.mask_ratio ?? 0.75;
  if (typeof maskRatio !== 'number' || !(maskRatio > 0 && maskRatio < 1)) {
    throw new VigilInputError(`${configLabel}: expected mask_ratio between 0 and 1 but received ${describeValue(maskRatio)}`, {
      subject: configLabel,
    });
  }
  const numPatches = (height / patchSize) * (width / patchSize);
  const { session, provider, graph } = await folder.graph(BASES.model, parts);
  const check = new GraphCheck(folder, graph);
  check.pixelInput(parts.preprocessing);
  const noise = check.input('noise', 2);
  check.dimension(noise, 1, numPatches, 'patches');
  const logits = check.output('logits', 3);
  check.dimension(logits, 1, numPatches, 'patches');
  check.dimension(logits, 2, patchSize * patchSize * 3, 'values per patch (patch_size² × 3)');
  const mask = check.output('mask', 2);
  check.dimension(mask, 1, numPatches, 'patches');
  const files = await folder.hash([graph.file, FILES.config, FILES.preprocessor]);
  return {
    kind: 'mae',
    ...baseModel(parts, 'hf', files, [graph], provider, [session]),
    session,
    patchSize,
    numPatches,
    maskRatio,
    normPixLoss: config.norm_pix_loss === true,
  };
}

/**
 * Class names from config.json's id2label, in index order. Keys must be 0..n−1, except with
 * `sparse` (detectors: DETR's COCO id2label skips unused ids), where holes are named LABEL_<index>.
 */
export function labelsFromConfig(config: Record<string, unknown>, file: string, options: { sparse?: boolean } = {}): string[] {
  const id2label = config.id2label;
  if (id2label === null || typeof id2label !== 'object' || Array.isArray(id2label)) {
    throw new VigilInputError(`${file}: expected id2label (an object of class index → label) but received ${describeValue(id2label)}`, {
      subject: file,
    });
  }
  const entries = Object.entries(id2label as Record<string, unknown>);
  const labels = new Array<string>(entries.length);
  for (const [key, label] of entries) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || (!options.sparse && index >= entries.length) || typeof label !== 'string') {
      throw new VigilInputError(
        `${file}: expected id2label keys ${options.sparse ? 'to be class indices' : `0..${entries.length - 1}`} with string labels but found ${JSON.stringify(key)}: ${describeValue(label)}`,
        { subject: file },
      );
    }
    labels[index] = label;
  }
  if (labels.length === 0) throw new VigilInputError(`${file}: id2label is empty`, { subject: file });
  for (let i = 0; i < labels.length; i++) labels[i] ??= `LABEL_${i}`;
  return labels;
}

function graphInfo(file: string, dtype: Dtype, session: InferenceSession): GraphInfo {
  const spec = (meta: InferenceSession.ValueMetadata): TensorSpec =>
    meta.isTensor
      ? { name: meta.name, type: meta.type, shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))) }
      : { name: meta.name, type: 'non-tensor', shape: [] };
  return { file, dtype, inputs: session.inputMetadata.map(spec), outputs: session.outputMetadata.map(spec) };
}

/** Checks of one graph's declared inputs/outputs; numeric dims are checked, symbolic ones accepted. */
class GraphCheck {
  constructor(
    private readonly folder: ModelFolder,
    private readonly graph: GraphInfo,
  ) {}

  input(name: string, rank: number): TensorSpec {
    return this.find(this.graph.inputs, 'input', name, rank);
  }

  output(name: string, rank: number): TensorSpec {
    return this.find(this.graph.outputs, 'output', name, rank);
  }

  /** One of several accepted output names (the first present). */
  outputOneOf(names: string[], rank: number): TensorSpec {
    const name = names.find((n) => this.graph.outputs.some((o) => o.name === n)) ?? names[0];
    return this.output(name, rank);
  }

  /** The first output of the given rank (layouts whose names are not fixed, e.g. open_clip's "output"). */
  firstOutput(rank: number): TensorSpec {
    const spec = this.graph.outputs.find((o) => o.shape.length === rank);
    if (!spec) this.fail(`an output with ${rank} dimensions but its outputs are ${this.describe(this.graph.outputs)}`);
    return spec!;
  }

  /** The single input of the given rank and element type (open_clip's image input). */
  onlyInput(rank: number, types: string[]): TensorSpec {
    const matches = this.graph.inputs.filter((i) => i.shape.length === rank && types.includes(i.type));
    if (matches.length !== 1) {
      this.fail(`exactly one ${types.join('/')} input with ${rank} dimensions but its inputs are ${this.describe(this.graph.inputs)}`);
    }
    return matches[0];
  }

  /** The token-id input of a text graph: int32/int64, rank 2, named input_ids/text/input or the only such input. */
  tokenInput(): TensorSpec {
    const candidates = this.graph.inputs.filter((i) => i.shape.length === 2 && (i.type === 'int32' || i.type === 'int64') && i.name !== 'attention_mask');
    const named = candidates.find((i) => ['input_ids', 'text', 'input'].includes(i.name));
    const spec = named ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (!spec) this.fail(`one int32/int64 token-id input with 2 dimensions but its inputs are ${this.describe(this.graph.inputs)}`);
    return spec!;
  }

  /** The image input: float32 or float16 (fp16 variants are converted at the boundary), N×3×H×W of the input size. */
  pixelInput(preprocessing: PreprocessConfig, name = 'pixel_values'): TensorSpec {
    const pixels = this.input(name, 4);
    if (pixels.type !== 'float32' && pixels.type !== 'float16') this.fail(`input "${name}" to be float32 or float16 but it is ${pixels.type}`);
    this.dimension(pixels, 1, 3, 'channels');
    this.dimension(pixels, 2, preprocessing.inputSize.height, `pixels high (the ${FILES.preprocessor} input size)`);
    this.dimension(pixels, 3, preprocessing.inputSize.width, `pixels wide (the ${FILES.preprocessor} input size)`);
    return pixels;
  }

  dimension(spec: TensorSpec, axis: number, expected: number, what: string): void {
    const actual = spec.shape[axis];
    if (typeof actual === 'number' && actual !== expected) {
      this.fail(`"${spec.name}" dimension ${axis} to be ${expected} ${what} but it is ${actual} (shape [${spec.shape.join(', ')}])`);
    }
  }

  private describe(list: TensorSpec[]): string {
    return list.map((s) => `"${s.name}" ${s.type} [${s.shape.join(', ')}]`).join(', ') || 'none';
  }

  private find(list: TensorSpec[], role: string, name: string, rank: number): TensorSpec {
    const spec = list.find((s) => s.name === name);
    if (!spec) this.fail(`an ${role} named "${name}" but its ${role}s are ${list.map((s) => `"${s.name}"`).join(', ') || 'none'}`);
    if (spec!.shape.length !== rank) {
      this.fail(`${role} "${name}" to have ${rank} dimensions but its shape is [${spec!.shape.join(', ')}]`);
    }
    return spec!;
  }

  fail(expected: string): never {
    throw new VigilInputError(`Model folder ${this.folder.dir}: expected ${this.graph.file} to have ${expected}`, {
      subject: this.folder.label(this.graph.file),
    });
  }
}

/** File access inside one model folder, with errors that name the folder and file. */
class ModelFolder {
  constructor(
    readonly dir: string,
    readonly root: string,
  ) {}

  label(file: string): string {
    return join(this.dir, file);
  }

  has(file: string): boolean {
    return existsSync(join(this.root, file));
  }

  async json(file: string): Promise<Record<string, unknown>> {
    if (!this.has(file)) {
      throw new VigilInputError(`Model folder ${this.dir}: missing ${file}`, { subject: this.label(file) });
    }
    const text = (await readInputFile(join(this.root, file), { what: 'the model file', maxBytes: MAX_CONFIG_BYTES })).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new VigilInputError(`Model folder ${this.dir}: ${file} is not valid JSON (${errorMessage(error)})`, {
        subject: this.label(file),
      });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new VigilInputError(`Model folder ${this.dir}: expected ${file} to hold a JSON object`, { subject: this.label(file) });
    }
    return parsed as Record<string, unknown>;
  }

  /** Whether any variant of a graph base name exists. */
  hasGraph(base: string): boolean {
    return variantsPresent(base, (f) => this.has(f)).length > 0;
  }

  /** Loads the variant of a graph that the dtype choice picks (see {@link pickVariant}). */
  async graph(base: string, parts: Pick<CommonParts, 'settings' | 'dtype'>): Promise<LoadedGraph> {
    const dtype = await this.pickVariant(base, parts.dtype);
    const file = variantFile(base, dtype);
    const { session, provider } = await createSession(join(this.root, file), parts.settings);
    return { session, provider, graph: graphInfo(file, dtype, session) };
  }

  /**
   * The variant to load for a graph: the one asked for (an error listing what is present when it
   * is missing), or for `auto` the fastest present variant that `vigil models compare` recorded as
   * holding the accuracy contract against fp32 for this very file, else fp32, else (no fp32 to
   * compare with) the fastest present.
   */
  async pickVariant(base: string, choice: DtypeChoice): Promise<Dtype> {
    const present = variantsPresent(base, (f) => this.has(f));
    if (choice !== 'auto') {
      if (present.includes(choice)) return choice;
      throw new VigilInputError(
        `Model folder ${this.dir}: no ${choice} variant of ${base} (expected ${variantFile(base, choice)}; present: ${
          present.map((d) => `${d} (${variantFile(base, d)})`).join(', ') || 'none'
        })`,
        { subject: this.label(variantFile(base, choice)) },
      );
    }
    const ordered = CPU_SPEED_ORDER.filter((d) => present.includes(d));
    for (const dtype of ordered) {
      if (dtype === 'fp32') return dtype;
      if (await this.verified(base, dtype)) return dtype;
    }
    if (ordered.length === 0) throw new VigilInputError(`Model folder ${this.dir}: missing ${variantFile(base, 'fp32')}`, { subject: this.label(variantFile(base, 'fp32')) });
    return ordered[0];
  }

  /** Whether vigil-compare.json records that this variant file (same sha256) passed against this fp32 file. */
  private async verified(base: string, dtype: Dtype): Promise<boolean> {
    const record = await readCompareRecord(this.root, this.label(FILES.record));
    const file = variantFile(base, dtype);
    const reference = variantFile(base, 'fp32');
    const entry = record.find((e) => e.file === file && e.reference === reference && e.passed);
    if (!entry || !this.has(reference)) return false;
    const [sha, refSha] = await Promise.all([sha256File(join(this.root, file)), sha256File(join(this.root, reference))]);
    return entry.sha256 === sha && entry.referenceSha256 === refSha;
  }

  async hash(files: string[]): Promise<ModelFile[]> {
    return Promise.all(
      files.map(async (path) => {
        const full = join(this.root, path);
        const [sha256, info] = await Promise.all([sha256File(full), stat(full)]);
        return { path, bytes: info.size, sha256 };
      }),
    );
  }
}

/** JSON-serialisable description (kind, files with sha256, graphs, labels, preprocessing, provider). */
export function describeModel(model: VisionModel): ModelInfo {
  const details: ModelInfo['details'] =
    model.kind === 'clip'
      ? {
          logitScale: model.logitScale,
          logitBias: model.logitBias,
          scoring: model.scoring,
          contextLength: model.contextLength,
          embeddingSize: model.embeddingSize,
          combined: model.combined,
        }
      : model.kind === 'mae'
        ? { patchSize: model.patchSize, numPatches: model.numPatches, maskRatio: model.maskRatio, normPixLoss: model.normPixLoss }
        : { classes: model.labels.length };
  const has = (f: string) => existsSync(join(model.dir, f));
  const variants: Record<string, Dtype[]> = {};
  for (const base of Object.values(BASES)) {
    const present = variantsPresent(base, has);
    if (present.length > 0) variants[base] = present;
  }
  return {
    kind: model.kind,
    dir: model.dir,
    sha256: model.sha256,
    provider: model.provider,
    dtype: model.dtype,
    layout: model.layout,
    variants,
    files: model.files,
    graphs: model.graphs,
    labels: model.kind === 'vit' ? model.labels : null,
    preprocessing: model.preprocessing,
    details,
  };
}
