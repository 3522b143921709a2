import { join } from 'node:path';
import { binomialInterval } from '../core/binomial.js';
import { invalidArgument, VigilInputError } from '../core/errors.js';
import { sha256File, writeFileAtomic } from '../core/files.js';
import { classify } from './classify.js';
import { readCompareRecord, COMPARE_RECORD, type CompareRecordEntry } from './compare-record.js';
import { variantFile } from './dtype.js';
import { embedImages } from './embed.js';
import { loadModel } from './model.js';
import type { Dtype, ImageInput, LoadModelOptions, VisionModel } from './types.js';

/**
 * The accuracy contract a variant must hold against fp32 to be trusted (by `--dtype auto`). The
 * top-1 agreement is judged from its exact interval, not its point estimate, like a bias verdict:
 * 24 of 24 images agreeing does not show 99% (the data allow 88%).
 */
export const CONTRACT = {
  /** Mean cosine between the variant's and fp32's image embeddings (CLIP). */
  cosineMean: 0.99,
  /** Fraction of images whose top-1 label is the same: passed when the lower bound reaches it. */
  top1Agreement: 0.99,
  /** One-sided confidence of that lower bound (Clopper-Pearson). */
  confidence: 0.95,
  /**
   * The fewest images that can pass: all agreeing, the one-sided 95% lower bound reaches 99% at
   * 299 images (0.05^(1/n) >= 0.99). Fewer can fail, never pass.
   */
  minImages: 299,
} as const;

/** One-sided lower and upper bounds of the top-1 agreement at {@link CONTRACT}'s confidence. */
export function agreementBounds(agree: number, count: number): [number, number] {
  // A two-sided interval at 1 - 2α gives one-sided bounds at 1 - α.
  return binomialInterval(agree, count, 1 - 2 * (1 - CONTRACT.confidence));
}

/** Labels used for zero-shot top-1 agreement when none are given (common photo subjects). */
export const DEFAULT_COMPARE_LABELS = [
  'person', 'cat', 'dog', 'bird', 'horse', 'car', 'bicycle', 'airplane', 'boat', 'train',
  'flower', 'tree', 'house', 'food', 'book', 'chair', 'computer', 'phone', 'mountain', 'beach',
];

export interface CompareOptions extends Pick<LoadModelOptions, 'device' | 'intraOpThreads' | 'pixelLimit'> {
  /** Zero-shot labels for CLIP top-1 agreement (default {@link DEFAULT_COMPARE_LABELS}); ViT uses its own. */
  labels?: string[];
  batchSize?: number;
  /** Update vigil-compare.json in the model folder (default true). */
  record?: boolean;
}

export interface CompareSummary {
  dir: string;
  dtype: Dtype;
  /** Graph files compared: the variant and its fp32 reference. */
  graphs: { file: string; reference: string }[];
  images: number;
  failed: number;
  /** Image-embedding cosine, variant vs fp32 (CLIP only; null for a ViT). */
  cosine: { mean: number; min: number; p01: number } | null;
  /** Largest and mean absolute logit difference over images and labels. */
  logitAbsDiff: { max: number; mean: number };
  /** Fraction of images whose top-1 label agrees. */
  top1Agreement: number;
  /** Its one-sided lower and upper bounds at the contract's confidence (Clopper-Pearson). */
  top1Bounds: [number, number];
  /** Inference time of each model over the same images in this run (informational; use the bench for speed). */
  seconds: { fp32: number; variant: number };
  /**
   * passed: the contract holds (agreement's lower bound >= 99%, mean cosine >= 0.99); failed: it
   * does not (cosine below, or agreement's upper bound below 99%); inconclusive: the images cannot
   * tell (too few, or too many near-ties), so `--dtype auto` keeps fp32.
   */
  verdict: 'passed' | 'failed' | 'inconclusive';
  reasons: string[];
}

/**
 * Runs the fp32 graphs and a variant's over the same images and measures how far the variant's
 * outputs move: embedding cosine (CLIP), logits, and top-1 agreement (CLIP zero-shot over the
 * labels, or the ViT's classes). The verdict applies {@link CONTRACT}; with `record`, it is kept
 * in vigil-compare.json, bound to both files' sha256, for `--dtype auto`.
 */
export async function compareVariant(
  dir: string,
  dtype: Dtype,
  images: ImageInput[],
  options: CompareOptions = {},
): Promise<CompareSummary> {
  if (dtype === 'fp32') throw invalidArgument('dtype', 'a variant other than fp32 (fp32 is the reference)', dtype);
  const settings = { device: options.device, intraOpThreads: options.intraOpThreads, pixelLimit: options.pixelLimit };
  const reference = await loadModel(dir, { ...settings, dtype: 'fp32' });
  let variant: VisionModel | undefined;
  try {
    variant = await loadModel(dir, { ...settings, dtype });
    if (reference.kind === 'mae' || variant.kind === 'mae') {
      throw new VigilInputError(`${dir}: compare needs a CLIP or ViT model (MAE reconstruction has no labels to agree on)`, { subject: dir });
    }
    const graphs = variant.graphs
      .map((g, i) => ({ file: g.file, reference: reference.graphs[i].file }))
      .filter((g) => g.file !== g.reference);
    const run = { batchSize: options.batchSize, cacheDir: false as const };
    const labels = reference.kind === 'clip' ? (options.labels ?? DEFAULT_COMPARE_LABELS) : undefined;
    const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
      const start = performance.now();
      const value = await fn();
      return [value, (performance.now() - start) / 1000];
    };
    const collectAll = async (model: VisionModel) => {
      const out: { file: string; embedding?: Float32Array; logits?: number[]; top?: number; error?: string }[] = [];
      if (model.kind === 'clip') {
        for await (const obs of embedImages(model, images, run)) out.push(obs.error === undefined ? { file: obs.file, embedding: obs.embedding } : obs);
      }
      if (model.kind !== 'mae') {
        let i = 0;
        for await (const obs of classify(model, images, { ...run, labels, top: 1 })) {
          let item = out[i++];
          if (item === undefined) {
            item = { file: obs.file };
            out.push(item);
          }
          if (obs.error !== undefined) item.error = obs.error;
          else Object.assign(item, { logits: obs.logits, top: obs.top[0].index });
        }
      }
      return out;
    };
    const [a, secondsA] = await timed(() => collectAll(reference));
    const [b, secondsB] = await timed(() => collectAll(variant!));
    const cosines: number[] = [];
    let agree = 0;
    let count = 0;
    let maxDiff = 0;
    let sumDiff = 0;
    let diffs = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i].error !== undefined || b[i].error !== undefined || !a[i].logits || !b[i].logits) continue;
      count += 1;
      if (a[i].embedding && b[i].embedding) cosines.push(dot(a[i].embedding!, b[i].embedding!));
      if (a[i].top === b[i].top) agree += 1;
      a[i].logits!.forEach((l, k) => {
        const d = Math.abs(l - b[i].logits![k]);
        maxDiff = Math.max(maxDiff, d);
        sumDiff += d;
        diffs += 1;
      });
    }
    if (count === 0) throw new VigilInputError(`No image could be compared (${a.length} inputs, all failed)`, { subject: 'images' });
    cosines.sort((x, y) => x - y);
    const cosine =
      cosines.length === 0
        ? null
        : { mean: cosines.reduce((s, c) => s + c, 0) / cosines.length, min: cosines[0], p01: cosines[Math.floor(0.01 * (cosines.length - 1))] };
    const top1Agreement = agree / count;
    const top1Bounds = agreementBounds(agree, count);
    const percent = (x: number): string => `${(100 * x).toFixed(1)}%`;
    const goal = percent(CONTRACT.top1Agreement);
    const reasons: string[] = [];
    const cosineFails = cosine !== null && cosine.mean < CONTRACT.cosineMean;
    if (cosineFails) reasons.push(`mean embedding cosine ${cosine.mean.toFixed(4)} < ${CONTRACT.cosineMean}`);
    const agreement = `top-1 agreement ${percent(top1Agreement)} (${agree} of ${count} images; one-sided ${100 * CONTRACT.confidence}% bounds [${percent(top1Bounds[0])}, ${percent(top1Bounds[1])}])`;
    let verdict: CompareSummary['verdict'];
    if (top1Bounds[1] < CONTRACT.top1Agreement) {
      verdict = 'failed';
      reasons.push(`${agreement}: below ${goal}`);
    } else if (cosineFails) {
      verdict = 'failed';
    } else if (top1Bounds[0] >= CONTRACT.top1Agreement) {
      verdict = 'passed';
    } else {
      verdict = 'inconclusive';
      const more = count < CONTRACT.minImages ? `; at least ${CONTRACT.minImages} images, all agreeing, are needed to show ${goal}` : '; more images are needed to tell';
      reasons.push(`${agreement} cannot show ${goal}${more}`);
    }
    const summary: CompareSummary = {
      dir: reference.dir,
      dtype,
      graphs,
      images: count,
      failed: a.length - count,
      cosine,
      logitAbsDiff: { max: maxDiff, mean: diffs > 0 ? sumDiff / diffs : 0 },
      top1Agreement,
      top1Bounds,
      seconds: { fp32: secondsA, variant: secondsB },
      verdict,
      reasons,
    };
    if (options.record !== false) await updateRecord(reference.dir, summary);
    return summary;
  } finally {
    await reference.release();
    await variant?.release();
  }
}

async function updateRecord(root: string, summary: CompareSummary): Promise<void> {
  const existing = await readCompareRecord(root, join(root, COMPARE_RECORD));
  const now = new Date().toISOString();
  const fresh: CompareRecordEntry[] = await Promise.all(
    summary.graphs.map(async (g) => ({
      file: g.file,
      sha256: await sha256File(join(root, g.file)),
      reference: g.reference,
      referenceSha256: await sha256File(join(root, g.reference)),
      dtype: summary.dtype,
      images: summary.images,
      cosineMean: summary.cosine?.mean ?? 1,
      cosineMin: summary.cosine?.min ?? 1,
      top1Agreement: summary.top1Agreement,
      passed: summary.verdict === 'passed',
      comparedAt: now,
    })),
  );
  const entries = [...existing.filter((e) => !fresh.some((f) => f.file === e.file)), ...fresh];
  await writeFileAtomic(join(root, COMPARE_RECORD), `${JSON.stringify({ schema: 'vigil/compare-record', entries }, null, 2)}\n`);
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** The variant files `vigil models quantize` writes for a folder's fp32 graphs. */
export function quantizeTargets(bases: string[], has: (file: string) => boolean): { input: string; output: string }[] {
  return bases
    .filter((base) => has(variantFile(base, 'fp32')))
    .map((base) => ({ input: variantFile(base, 'fp32'), output: variantFile(base, 'q8') }));
}
