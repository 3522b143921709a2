import type { ResultEnvelope } from '../core/results.js';
import type { CompareSummary } from './compare.js';
import type { Dtype, ExecutionProvider, ModelKind } from './types.js';

/**
 * The document `vigil classify --json` prints (and `--out results.json` writes): schema
 * `vigil/classify`. Field names are stable; additions keep schemaVersion 1.
 */
export interface ClassifyResult extends ResultEnvelope {
  schema: 'vigil/classify';
  model: {
    /** Model folder as given on the command line. */
    dir: string;
    kind: Extract<ModelKind, 'vit' | 'clip'>;
    /** Hash over the model's files (see `vigil models info`). */
    sha256: string;
    /** Execution provider the sessions were created with. */
    provider: ExecutionProvider;
    /** Weight variant of the image graph (`--dtype`; each graph's own in `graphs`). */
    dtype: Dtype;
    /** The ONNX files run, with the variant each is. */
    graphs: { file: string; dtype: Dtype }[];
  };
  /** The candidate labels, in the order of each image's `logits`/`probabilities`. */
  labels: string[];
  /** CLIP prompt templates (ensembled per label); null for a ViT. */
  templates: string[] | null;
  /** How many labels each image's `top` lists. */
  top: number;
  /** One record per input image (and per input path that matched no image), in input order. */
  images: ClassifyImageRecord[];
  summary: {
    /** Records in `images`. */
    total: number;
    classified: number;
    failed: number;
    /** Classified images served from the observation cache. */
    cached: number;
  };
}

export interface ClassifyImageRecord {
  /** Path as found (or the input that matched nothing). */
  file: string;
  /** sha256 of the image bytes; null when they could not be read. */
  sha256: string | null;
  /** Provider that computed the observation (the original one for cached observations); null on failure. */
  provider: ExecutionProvider | null;
  cached: boolean;
  /** Best labels first; empty on failure. */
  top: { label: string; probability: number }[];
  /** Raw scores aligned with `labels` (CLIP: logit scale × cosine similarity); null on failure. */
  logits: number[] | null;
  /** Softmax of `logits`; null on failure. */
  probabilities: number[] | null;
  /** Why the image was skipped; null when classified. */
  error: string | null;
}

/** The document `vigil models compare --json` prints: schema `vigil/compare`. */
export interface CompareResult extends ResultEnvelope {
  schema: 'vigil/compare';
  /** The contract the verdict applies (see docs/vision.md). */
  contract: { cosineMean: number; top1Agreement: number; confidence: number; minImages: number };
  comparison: CompareSummary;
}
