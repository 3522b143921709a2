import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { describeValue, errorMessage, invalidArgument, VigilInputError } from '../core/errors.js';
import { sha256File, sha256Hex } from '../core/files.js';
import { DEFAULT_PIXEL_LIMIT } from './images.js';
import { parsePreprocessorConfig } from './preprocessing.js';
import { createSession, validateSessionSettings } from './session.js';
import { CLIP_CONTEXT_LENGTH, TextTokenizer } from './text.js';
import type {
  ClipModel,
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
      `Model folder ${model.dir} has only an image tower: text needs ${FILES.text} and ${FILES.tokenizer}`,
      { subject: model.dir },
    );
  }
  return tokenizer;
}

const FILES = {
  config: 'config.json',
  preprocessor: 'preprocessor_config.json',
  tokenizer: 'tokenizer.json',
  model: 'onnx/model.onnx',
  vision: 'onnx/vision_model.onnx',
  text: 'onnx/text_model.onnx',
} as const;

/** Tokenizer side files a CLIP folder may carry; hashed when present since they describe the model. */
const OPTIONAL_CLIP_FILES = ['tokenizer_config.json', 'special_tokens_map.json'];

/**
 * Loads and validates a model folder in the Hugging Face / Optimum ONNX layout. The kind is
 * detected from the files: a tokenizer.json or onnx/vision_model.onnx (or config model_type clip)
 * means CLIP (onnx/vision_model.onnx alone is an image tower: embeddings, no text); config
 * model_type vit_mae means MAE; otherwise a ViT classifier. Every problem is reported naming the folder, the file and what was expected.
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<VisionModel> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('dir', 'a model folder path', dir);
  validateSessionSettings(options);
  const pixelLimit = options.pixelLimit ?? DEFAULT_PIXEL_LIMIT;
  if (!Number.isInteger(pixelLimit) || pixelLimit < 1) throw invalidArgument('pixelLimit', 'a positive integer', pixelLimit);
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new VigilInputError(`Model folder ${dir} does not exist or is not a folder`, { subject: dir });

  const folder = new ModelFolder(dir, root);
  const config = await folder.json(FILES.config);
  const kind = await detectKind(folder, config);
  const preprocessing = parsePreprocessorConfig(
    await folder.json(FILES.preprocessor),
    folder.label(FILES.preprocessor),
    kind !== 'clip',
  );
  const settings = { device: options.device, intraOpThreads: options.intraOpThreads };
  const loaded: LoadedParts = { folder, config, preprocessing, pixelLimit, settings };
  switch (kind) {
    case 'vit':
      return loadVit(loaded);
    case 'clip':
      return loadClip(loaded);
    case 'mae':
      return loadMae(loaded);
  }
}

interface LoadedParts {
  folder: ModelFolder;
  config: Record<string, unknown>;
  preprocessing: PreprocessConfig;
  pixelLimit: number;
  settings: { device: LoadModelOptions['device']; intraOpThreads: number | undefined };
}

async function detectKind(folder: ModelFolder, config: Record<string, unknown>): Promise<ModelKind> {
  const modelType = typeof config.model_type === 'string' ? config.model_type : '';
  if (folder.has(FILES.vision) || folder.has(FILES.tokenizer) || modelType === 'clip') return 'clip';
  if (modelType === 'vit_mae') return 'mae';
  if (!folder.has(FILES.model)) {
    throw new VigilInputError(
      `Model folder ${folder.dir}: missing ${FILES.model} (expected a Hugging Face / Optimum ONNX export: ` +
        `${FILES.model} for ViT or MAE, or ${FILES.vision} + ${FILES.text} + ${FILES.tokenizer} for CLIP)`,
      { subject: folder.label(FILES.model) },
    );
  }
  return 'vit';
}

function baseModel(parts: LoadedParts, files: ModelFile[], graphs: GraphInfo[], provider: ExecutionProvider, sessions: InferenceSession[]) {
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
  const { session, provider } = await folder.session(FILES.model, parts.settings);
  const graph = graphInfo(FILES.model, session);
  const check = new GraphCheck(folder, graph);
  check.pixelInput(parts.preprocessing);
  const logits = check.output('logits', 2);
  if (typeof logits.shape[1] === 'number' && logits.shape[1] !== labels.length) {
    throw new VigilInputError(
      `Model folder ${folder.dir}: ${FILES.model} output "logits" has ${logits.shape[1]} classes but ` +
        `${FILES.config} id2label has ${labels.length} labels`,
      { subject: folder.label(FILES.model) },
    );
  }
  const files = await folder.hash([FILES.model, FILES.config, FILES.preprocessor]);
  return { kind: 'vit', ...baseModel(parts, files, [graph], provider, [session]), labels, session };
}

async function loadClip(parts: LoadedParts): Promise<ClipModel> {
  const { folder, config } = parts;
  const separate = folder.has(FILES.vision) || folder.has(FILES.text);
  // An image tower alone (vision_model.onnx, no text tower, no tokenizer) embeds images; text needs both.
  const imageOnly = folder.has(FILES.vision) && !folder.has(FILES.text) && !folder.has(FILES.tokenizer);
  if (separate && !imageOnly) {
    for (const file of [FILES.vision, FILES.text]) {
      if (!folder.has(file)) {
        throw new VigilInputError(
          `Model folder ${folder.dir}: missing ${file} (a CLIP export needs both ${FILES.vision} and ${FILES.text}, or a combined ${FILES.model})`,
          { subject: folder.label(file) },
        );
      }
    }
  } else if (!separate && !folder.has(FILES.model)) {
    throw new VigilInputError(
      `Model folder ${folder.dir}: missing ${FILES.vision} and ${FILES.text} (or a combined ${FILES.model}) for CLIP`,
      { subject: folder.label(FILES.vision) },
    );
  }
  if (!imageOnly && !folder.has(FILES.tokenizer)) {
    throw new VigilInputError(`Model folder ${folder.dir}: missing ${FILES.tokenizer} (CLIP needs its tokenizer)`, {
      subject: folder.label(FILES.tokenizer),
    });
  }

  let visionSession: InferenceSession;
  let textSession: InferenceSession | null = null;
  let provider: ExecutionProvider;
  let graphs: GraphInfo[];
  if (separate) {
    ({ session: visionSession, provider } = await folder.session(FILES.vision, parts.settings));
    graphs = [graphInfo(FILES.vision, visionSession)];
    if (!imageOnly) {
      // The text tower follows the provider the vision tower got, so `auto` resolves once.
      ({ session: textSession } = await folder.session(FILES.text, { ...parts.settings, device: provider }));
      graphs.push(graphInfo(FILES.text, textSession));
    }
  } else {
    ({ session: visionSession, provider } = await folder.session(FILES.model, parts.settings));
    textSession = visionSession;
    graphs = [graphInfo(FILES.model, visionSession)];
  }
  const visionCheck = new GraphCheck(folder, graphs[0]);
  visionCheck.pixelInput(parts.preprocessing);
  const imageEmbeds = visionCheck.output('image_embeds', 2);
  const imageDim = imageEmbeds.shape[1];
  const projection = typeof config.projection_dim === 'number' ? config.projection_dim : undefined;
  const embeddingSize = typeof imageDim === 'number' ? imageDim : (projection ?? 0);

  let tokenizer: TextTokenizer | null = null;
  if (textSession !== null) {
    const textCheck = new GraphCheck(folder, graphs[graphs.length - 1]);
    const inputIds = textCheck.input('input_ids', 2);
    const textDim = textCheck.output('text_embeds', 2).shape[1];
    if (typeof imageDim === 'number' && typeof textDim === 'number' && imageDim !== textDim) {
      throw new VigilInputError(
        `Model folder ${folder.dir}: image_embeds width ${imageDim} differs from text_embeds width ${textDim}`,
        { subject: folder.label(graphs[0].file) },
      );
    }
    const textConfig = (config.text_config ?? {}) as Record<string, unknown>;
    const contextLength =
      typeof textConfig.max_position_embeddings === 'number' ? textConfig.max_position_embeddings : CLIP_CONTEXT_LENGTH;
    const fixedLength = typeof inputIds.shape[1] === 'number' ? inputIds.shape[1] : null;
    tokenizer = new TextTokenizer(await folder.json(FILES.tokenizer), folder.label(FILES.tokenizer), {
      contextLength,
      fixedLength,
    });
  }

  const logitScaleValue = config.logit_scale;
  if (logitScaleValue !== undefined && (typeof logitScaleValue !== 'number' || !Number.isFinite(logitScaleValue))) {
    throw new VigilInputError(
      `Model folder ${folder.dir}: expected logit_scale in ${FILES.config} to be a number (the log of CLIP's temperature) but received ${describeValue(logitScaleValue)}`,
      { subject: folder.label(FILES.config) },
    );
  }
  // config.json carries the learned log-scale; CLIP clamps the scale at 100, its trained value.
  const logitScale = typeof logitScaleValue === 'number' ? Math.min(Math.exp(logitScaleValue), 100) : 100;

  const onnxFiles = separate ? graphs.map((g) => g.file) : [FILES.model];
  const textFiles = tokenizer === null ? [] : [FILES.tokenizer, ...OPTIONAL_CLIP_FILES.filter((f) => folder.has(f))];
  const files = await folder.hash([...onnxFiles, ...textFiles, FILES.config, FILES.preprocessor]);
  const model: ClipModel = {
    kind: 'clip',
    ...baseModel(parts, files, graphs, provider, textSession === null ? [visionSession] : [visionSession, textSession]),
    visionSession,
    textSession,
    combined: !separate,
    logitScale,
    contextLength: tokenizer?.maxLength ?? 0,
    embeddingSize,
  };
  if (tokenizer !== null) clipTokenizers.set(model, tokenizer);
  return model;
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
  const { session, provider } = await folder.session(FILES.model, parts.settings);
  const graph = graphInfo(FILES.model, session);
  const check = new GraphCheck(folder, graph);
  check.pixelInput(parts.preprocessing);
  const noise = check.input('noise', 2);
  check.dimension(noise, 1, numPatches, 'patches');
  const logits = check.output('logits', 3);
  check.dimension(logits, 1, numPatches, 'patches');
  check.dimension(logits, 2, patchSize * patchSize * 3, 'values per patch (patch_size² × 3)');
  const mask = check.output('mask', 2);
  check.dimension(mask, 1, numPatches, 'patches');
  const files = await folder.hash([FILES.model, FILES.config, FILES.preprocessor]);
  return {
    kind: 'mae',
    ...baseModel(parts, files, [graph], provider, [session]),
    session,
    patchSize,
    numPatches,
    maskRatio,
    normPixLoss: config.norm_pix_loss === true,
  };
}

function labelsFromConfig(config: Record<string, unknown>, file: string): string[] {
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
    if (!Number.isInteger(index) || index < 0 || index >= entries.length || typeof label !== 'string') {
      throw new VigilInputError(
        `${file}: expected id2label keys 0..${entries.length - 1} with string labels but found ${JSON.stringify(key)}: ${describeValue(label)}`,
        { subject: file },
      );
    }
    labels[index] = label;
  }
  if (labels.length === 0) throw new VigilInputError(`${file}: id2label is empty`, { subject: file });
  return labels;
}

function graphInfo(file: string, session: InferenceSession): GraphInfo {
  const spec = (meta: InferenceSession.ValueMetadata): TensorSpec =>
    meta.isTensor
      ? { name: meta.name, type: meta.type, shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))) }
      : { name: meta.name, type: 'non-tensor', shape: [] };
  return { file, inputs: session.inputMetadata.map(spec), outputs: session.outputMetadata.map(spec) };
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

  pixelInput(preprocessing: PreprocessConfig): void {
    const pixels = this.input('pixel_values', 4);
    if (pixels.type !== 'float32') this.fail(`input "pixel_values" to be float32 but it is ${pixels.type}`);
    this.dimension(pixels, 1, 3, 'channels');
    this.dimension(pixels, 2, preprocessing.inputSize.height, `pixels high (the ${FILES.preprocessor} input size)`);
    this.dimension(pixels, 3, preprocessing.inputSize.width, `pixels wide (the ${FILES.preprocessor} input size)`);
  }

  dimension(spec: TensorSpec, axis: number, expected: number, what: string): void {
    const actual = spec.shape[axis];
    if (typeof actual === 'number' && actual !== expected) {
      this.fail(`"${spec.name}" dimension ${axis} to be ${expected} ${what} but it is ${actual} (shape [${spec.shape.join(', ')}])`);
    }
  }

  private find(list: TensorSpec[], role: string, name: string, rank: number): TensorSpec {
    const spec = list.find((s) => s.name === name);
    if (!spec) this.fail(`an ${role} named "${name}" but its ${role}s are ${list.map((s) => `"${s.name}"`).join(', ') || 'none'}`);
    if (spec!.shape.length !== rank) {
      this.fail(`${role} "${name}" to have ${rank} dimensions but its shape is [${spec!.shape.join(', ')}]`);
    }
    return spec!;
  }

  private fail(expected: string): never {
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
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(this.root, file), 'utf8'));
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

  async session(file: string, settings: LoadedParts['settings']) {
    if (!this.has(file)) throw new VigilInputError(`Model folder ${this.dir}: missing ${file}`, { subject: this.label(file) });
    return createSession(join(this.root, file), settings);
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
      ? { logitScale: model.logitScale, contextLength: model.contextLength, embeddingSize: model.embeddingSize, combined: model.combined }
      : model.kind === 'mae'
        ? { patchSize: model.patchSize, numPatches: model.numPatches, maskRatio: model.maskRatio, normPixLoss: model.normPixLoss }
        : { classes: model.labels.length };
  return {
    kind: model.kind,
    dir: model.dir,
    sha256: model.sha256,
    provider: model.provider,
    files: model.files,
    graphs: model.graphs,
    labels: model.kind === 'vit' ? model.labels : null,
    preprocessing: model.preprocessing,
    details,
  };
}
