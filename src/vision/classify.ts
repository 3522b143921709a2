import { pixelFeed } from './feeds.js';
import { invalidArgument, VigilInputError } from '../core/errors.js';
import { embedTexts, imageEmbeddingTask, splitRows } from './embed.js';
import { runImages, validateRunOptions } from './pipeline.js';
import type {
  ClassificationObservation,
  ClassifyOptions,
  ClipModel,
  ImageInput,
  ObservationBase,
  Observed,
  VitModel,
} from './types.js';

// Defined beside the types so the CLI's option help reads them without loading onnxruntime.
import { DEFAULT_TEMPLATES, DEFAULT_TOP } from './types.js';
export { DEFAULT_TEMPLATES, DEFAULT_TOP };

/**
 * Classifies images: a ViT with its own labels (optionally a subset, probabilities renormalised
 * over it), or CLIP zero-shot: logits are logitScale × cosine(image, label), where a label's text
 * embedding is the normalised mean of its prompts' embeddings (prompt ensembling). Streams one
 * observation per image in input order. SigLIP adds its logit bias and scores each label with
 * an independent sigmoid (it was trained with a sigmoid loss), so its probabilities need not sum to 1.
 */
export async function* classify(
  model: VitModel | ClipModel,
  inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>,
  options: ClassifyOptions = {},
): AsyncGenerator<Observed<ClassificationObservation>> {
  const labels = classLabels(model, options);
  const top = Math.min(options.top ?? DEFAULT_TOP, labels.length);
  validateRunOptions(options);
  const build = (logits: number[], base: ObservationBase): ClassificationObservation => {
    const probabilities = model.kind === 'clip' && model.scoring === 'sigmoid' ? logits.map(sigmoid) : softmax(logits);
    const order = probabilities.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    return {
      ...base,
      logits,
      probabilities,
      top: order.slice(0, top).map(([probability, index]) => ({ label: labels[index], index, probability })),
    };
  };

  if (model.kind === 'vit') {
    const indices = labels.map((label) => model.labels.indexOf(label));
    yield* runImages(model, inputs, options, {
      output: 'vit-logits',
      infer: async (pixels, count) => {
        const { height, width } = model.preprocessing.inputSize;
        const result = await model.session.run({ pixel_values: pixelFeed(model.graphs[0], 'pixel_values', pixels, count, height, width) }, ['logits']);
        const rows = splitRows(result.logits, count, 'logits', model);
        if (rows[0].length !== model.labels.length) {
          throw new VigilInputError(
            `Model folder ${model.dir}: output "logits" has ${rows[0].length} classes but config.json id2label has ${model.labels.length} labels`,
            { subject: model.dir },
          );
        }
        return rows;
      },
      finish: (raw, base) => build(indices.map((i) => raw[i]), base),
    });
    return;
  }

  const templates = options.templates ?? DEFAULT_TEMPLATES;
  const textEmbeddings = await labelEmbeddings(model, labels, templates);
  yield* runImages(
    model,
    inputs,
    options,
    imageEmbeddingTask(model, (raw, base) =>
      build(
        textEmbeddings.map((text) => model.logitScale * dot(raw, text) + model.logitBias),
        base,
      ),
    ),
  );
}

/** The labels a classify run reports logits/probabilities for, in order (validates the options). */
export function classLabels(model: VitModel | ClipModel, options: ClassifyOptions = {}): string[] {
  const kind = (model as { kind?: unknown } | undefined)?.kind;
  if (kind !== 'vit' && kind !== 'clip') throw invalidArgument('model', 'a ViT or CLIP model', kind ?? model);
  const { labels, templates, top } = options;
  if (labels !== undefined) {
    if (!Array.isArray(labels) || labels.length === 0 || labels.some((l) => typeof l !== 'string' || l.trim() === '')) {
      throw invalidArgument('labels', 'a non-empty array of non-empty strings', labels);
    }
    const duplicate = labels.find((l, i) => labels.indexOf(l) !== i);
    if (duplicate !== undefined) throw invalidArgument('labels', 'distinct labels', `${JSON.stringify(duplicate)} twice`);
  }
  if (top !== undefined && (!Number.isInteger(top) || top < 1)) throw invalidArgument('top', 'a positive integer', top);
  if (model.kind === 'vit') {
    if (templates !== undefined) throw invalidArgument('templates', 'no templates for a ViT classifier (they are for CLIP zero-shot)', templates);
    if (labels === undefined) return [...model.labels];
    const unknown = labels.filter((l) => !model.labels.includes(l));
    if (unknown.length > 0) {
      throw invalidArgument('labels', `labels of the model (${model.labels.join(', ')})`, unknown.join(', '));
    }
    return [...labels];
  }
  if (labels === undefined) throw invalidArgument('labels', 'candidate labels for CLIP zero-shot classification', labels);
  if (templates !== undefined) {
    if (!Array.isArray(templates) || templates.length === 0 || templates.some((t) => typeof t !== 'string' || !t.includes('{label}'))) {
      throw invalidArgument('templates', 'a non-empty array of prompt templates each containing {label}', templates);
    }
  }
  return [...labels];
}

/** One normalised text embedding per label: the mean over its prompt templates, renormalised. */
async function labelEmbeddings(model: ClipModel, labels: string[], templates: readonly string[]): Promise<Float32Array[]> {
  const prompts = labels.flatMap((label) => templates.map((t) => t.replaceAll('{label}', label)));
  const embedded = await embedTexts(model, prompts);
  return labels.map((_, li) => {
    const mean = new Float32Array(embedded[0].length);
    for (let t = 0; t < templates.length; t++) {
      const e = embedded[li * templates.length + t];
      for (let k = 0; k < mean.length; k++) mean[k] += e[k] / templates.length;
    }
    const norm = Math.sqrt(dot(mean, mean));
    return norm > 0 ? mean.map((v) => v / norm) : mean;
  });
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Logistic function (SigLIP's per-label probability), stable for large |x|. */
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Numerically stable softmax. */
export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const total = exps.reduce((s, e) => s + e, 0);
  return exps.map((e) => e / total);
}
