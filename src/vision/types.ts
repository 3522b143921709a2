/**
 * Public types of the vision stack: model folders in the Hugging Face / Optimum ONNX layout
 * (ViT classifier, CLIP, MAE), run on onnxruntime-node, producing per-image observations.
 *
 * Everything downstream (bias audits, synthetic-media screening, the service) consumes these
 * types through `src/vision/index.ts`.
 */
import type { InferenceSession } from 'onnxruntime-node';

/** Which kind of model a folder holds, detected from its files. */
export type ModelKind = 'vit' | 'clip' | 'mae';

/**
 * What the user asked for. `auto` tries GPU providers (CUDA, then WebGPU) and falls back to CPU;
 * an explicitly requested provider that cannot be created is an error that says why.
 */
export type Device = 'cpu' | 'cuda' | 'webgpu' | 'auto';

/** Every --device value (here, not in session.ts, so the CLI lists them without loading onnxruntime). */
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu', 'auto'];

/** CLIP's own zero-shot prompt, used when no templates are given. */
export const DEFAULT_TEMPLATES: readonly string[] = ['a photo of a {label}.'];
/** Labels listed per image by `vigil classify` unless --top says otherwise. */
export const DEFAULT_TOP = 5;

/**
 * An ONNX weight variant, named as transformers.js names them: fp32 `model.onnx`, fp16
 * `model_fp16.onnx`, q8 `model_quantized.onnx`, int8 `model_int8.onnx`, uint8 `model_uint8.onnx`,
 * q4 `model_q4.onnx`, q4f16 `model_q4f16.onnx`, bnb4 `model_bnb4.onnx` (likewise `vision_model*`,
 * `text_model*`).
 */
export type Dtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';

/**
 * What the user asked for: a variant, or `auto`: per graph, the fastest variant present that
 * `vigil models compare` verified against fp32 (fp32 itself when none is verified).
 */
export type DtypeChoice = Dtype | 'auto';

/** How a folder stores its graphs: Hugging Face / Optimum (`onnx/*.onnx`), open_clip / clip-as-service (`visual.onnx` + `textual.onnx`), or one graph described by `vigil-model.json`. */
export type ModelLayout = 'hf' | 'open_clip' | 'manifest';

/** The onnxruntime execution provider that actually ran; recorded in every observation. */
export type ExecutionProvider = 'cpu' | 'cuda' | 'webgpu';

/**
 * Preprocessing as read from preprocessor_config.json (transformers' image processor fields,
 * camelCased). `preprocessingKey` of the model is a hash of this object, part of the observation
 * cache key.
 */
export interface PreprocessConfig {
  doResize: boolean;
  /** `shortestEdge`: the short side is resized to it (aspect kept); otherwise exact height×width. */
  resize: { shortestEdge: number } | { height: number; width: number };
  /** PIL resample code from the config (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming). */
  resample: number;
  /** The sharp kernel the resample code maps to. */
  kernel: 'nearest' | 'linear' | 'cubic' | 'lanczos3' | 'mitchell';
  doCenterCrop: boolean;
  cropSize: { height: number; width: number };
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  /** Height and width of the tensor fed to the model (crop size, or resize size without crop). */
  inputSize: { height: number; width: number };
}

/** One input or output of an ONNX graph as declared in the file. Symbolic dims are strings. */
export interface TensorSpec {
  name: string;
  type: string;
  shape: (number | string)[];
}

/** A file of the model folder with its content hash. `path` is relative to the folder. */
export interface ModelFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** One ONNX graph of the model, with its declared inputs/outputs. */
export interface GraphInfo {
  /** Relative path, e.g. `onnx/vision_model.onnx`. */
  file: string;
  /** The weight variant this file is (from its name; `fp32` for layouts without variants). */
  dtype: Dtype;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface LoadModelOptions {
  /** Execution provider choice (default `cpu`). */
  device?: Device;
  /** onnxruntime intra-op threads (default: onnxruntime's own choice, one per physical core). */
  intraOpThreads?: number;
  /** Weight variant to load (default `fp32`); see {@link DtypeChoice}. */
  dtype?: DtypeChoice;
  /**
   * Largest image accepted, in pixels (width × height), passed to sharp's `limitInputPixels`.
   * Default 268402689 (sharp's default, 16383²). Larger images are rejected with a clear error.
   */
  pixelLimit?: number;
}

/** Counters that make the cache observable: a fully cached run leaves `imagesInferred` at 0. */
export interface ModelStats {
  /** Images that went through an ONNX session (cache misses). */
  imagesInferred: number;
  /** Session.run calls made for images. */
  batchesRun: number;
  /** Observations served from the on-disk cache. */
  cacheHits: number;
}

interface ModelBase {
  kind: ModelKind;
  /** Absolute path of the model folder. */
  dir: string;
  /** Hash over the sha256 of every file the model uses (order-independent); the cache key's model part. */
  sha256: string;
  files: ModelFile[];
  graphs: GraphInfo[];
  preprocessing: PreprocessConfig;
  /** Hash of the preprocessing: the cache key's preprocessing part. */
  preprocessingKey: string;
  /** Provider that the sessions were created with. */
  provider: ExecutionProvider;
  /** Weight variant of the image graph (each graph's own is in `graphs[].dtype`). */
  dtype: Dtype;
  /** How the folder stores its graphs. */
  layout: ModelLayout;
  /** Pixel limit applied when decoding images. */
  pixelLimit: number;
  /** The parsed config.json. */
  config: Record<string, unknown>;
  stats: ModelStats;
  /** Releases the onnxruntime sessions. */
  release(): Promise<void>;
}

export interface VitModel extends ModelBase {
  kind: 'vit';
  /** Class names in logit order (from config.json id2label). */
  labels: string[];
  session: InferenceSession;
}

export interface ClipModel extends ModelBase {
  kind: 'clip';
  /** Image tower (`onnx/vision_model.onnx`, or the combined `onnx/model.onnx`). */
  visionSession: InferenceSession;
  /**
   * Text tower (`onnx/text_model.onnx`, or the combined `onnx/model.onnx`); null for a folder with
   * only an image tower (`onnx/vision_model.onnx` and no tokenizer), which embeds images only.
   */
  textSession: InferenceSession | null;
  /** True when both towers come from the combined `onnx/model.onnx`. */
  combined: boolean;
  /** exp(logit_scale) from config.json (CLIP's learned temperature); 100 when absent. */
  logitScale: number;
  /** Added to every zero-shot logit (SigLIP's learned `logit_bias`; 0 for CLIP). */
  logitBias: number;
  /**
   * How zero-shot logits become probabilities: `softmax` over the labels (CLIP) or an independent
   * `sigmoid` per label (SigLIP, trained with a sigmoid loss; probabilities need not sum to 1).
   */
  scoring: 'softmax' | 'sigmoid';
  /** Input/output names of the graphs (they differ between export layouts). */
  io: ClipIo;
  /** Text context length (77 for CLIP unless config says otherwise); 0 without a text tower. */
  contextLength: number;
  embeddingSize: number;
}

/** The graph names a CLIP-style model is run by. */
export interface ClipIo {
  /** Image input (float32 or float16 N×3×H×W). */
  pixels: string;
  /** Image embedding output (N×D). */
  imageEmbeds: string;
  /** Token id input (int32 or int64 N×L); empty without a text tower. */
  inputIds: string;
  /** Attention mask input, or null when the text graph takes none. */
  attentionMask: string | null;
  /** Text embedding output (N×D); empty without a text tower. */
  textEmbeds: string;
}

export interface MaeModel extends ModelBase {
  kind: 'mae';
  session: InferenceSession;
  patchSize: number;
  /** Patches per image ((size / patchSize)²). */
  numPatches: number;
  /** Fraction of patches masked (config mask_ratio, 0.75 by default). */
  maskRatio: number;
  /** Reconstruction error is computed on per-patch normalised pixels (config norm_pix_loss). */
  normPixLoss: boolean;
}

/** A loaded model folder; discriminate on `kind`. */
export type VisionModel = VitModel | ClipModel | MaeModel;

/**
 * An image to process: a path (a file, a folder searched recursively, or a glob), or image
 * bytes held in memory (the service and screening pass Buffers) with a name to report it by.
 */
export type ImageInput = string | { name: string; bytes: Uint8Array };

/** Options shared by every batch operation. */
export interface RunOptions {
  /** Images per session.run (default 8). */
  batchSize?: number;
  /** Images decoded/preprocessed ahead of inference (bounded queue; default 2 × batchSize). */
  prefetch?: number;
  /**
   * Observation cache directory; `false` disables the cache. Default: `$VIGIL_CACHE_DIR`, else
   * `.vigil-cache/` in the current directory.
   */
  cacheDir?: string | false;
  /** Called once per image (success or failure), for progress bars. */
  onImage?: () => void;
}

/** Fields every successful observation carries. */
export interface ObservationBase {
  /** The path, or the name given with in-memory bytes. */
  file: string;
  /** sha256 of the image file's bytes. */
  sha256: string;
  /** Execution provider that produced it (the original run's provider when served from cache). */
  provider: ExecutionProvider;
  /** True when served from the on-disk cache (no inference ran). */
  cached: boolean;
  error?: undefined;
}

/** An image that could not be processed; batches record it and go on. */
export interface ImageFailure {
  file: string;
  /** sha256 of the bytes when they could be read, else null. */
  sha256: string | null;
  /** What went wrong, naming the file and reason. */
  error: string;
}

/** A successful observation or a failure; narrow with `obs.error === undefined`. */
export type Observed<T extends ObservationBase> = T | ImageFailure;

export interface EmbeddingObservation extends ObservationBase {
  /** L2-normalised image embedding (CLIP `image_embeds` / norm). */
  embedding: Float32Array;
}

export interface ClassificationObservation extends ObservationBase {
  /** Logits in the order of the run's labels (ViT: the label subset; CLIP: scaled cosine similarities). */
  logits: number[];
  /** Softmax of `logits` (SigLIP: sigmoid of each logit). */
  probabilities: number[];
  /** The `top` highest-probability labels, best first. */
  top: { label: string; index: number; probability: number }[];
}

export interface ReconstructionObservation extends ObservationBase {
  /**
   * MAE reconstruction error: mean squared error over masked patches (on per-patch normalised
   * pixels when norm_pix_loss), averaged over the seeded masks. This is transformers' ViTMAE loss.
   */
  reconstructionError: number;
  /**
   * Per-patch error (row-major patch grid), averaged over the masks in which the patch was masked;
   * NaN for a patch no mask covered.
   */
  patchErrors: Float32Array;
  /** Number of masks averaged. */
  masks: number;
}

export interface ClassifyOptions extends RunOptions {
  /**
   * ViT: a subset of the model's labels (probabilities renormalised over them); default all.
   * CLIP: the zero-shot candidate labels (required).
   */
  labels?: string[];
  /**
   * CLIP prompt templates containing `{label}`; with several, text embeddings are averaged per
   * label (prompt ensembling). Default `["a photo of a {label}."]`.
   */
  templates?: string[];
  /** How many labels to keep in `top` (default 5, capped at the number of labels). */
  top?: number;
}

export interface ReconstructOptions extends RunOptions {
  /** Seed of the first mask; mask i uses seed + i. */
  seed: number;
  /** Number of random masks averaged (default 4). */
  masks?: number;
}

/** JSON-serialisable description of a model folder (`vigil models info --json`). */
export interface ModelInfo {
  kind: ModelKind;
  dir: string;
  sha256: string;
  provider: ExecutionProvider;
  /** Weight variant of the image graph that was loaded. */
  dtype: Dtype;
  layout: ModelLayout;
  /** Per graph base name (e.g. `onnx/vision_model`), the variants present in the folder. */
  variants: Record<string, Dtype[]>;
  files: ModelFile[];
  graphs: GraphInfo[];
  labels: string[] | null;
  preprocessing: PreprocessConfig;
  /** Kind-specific facts (CLIP logit scale and context length, MAE patch size and mask ratio). */
  details: Record<string, number | boolean | string>;
}
