/**
 * `vigil bias <spec> --queue redis://...`: the probe images' model observations (CLIP image
 * embeddings, ViT classifications, MAE reconstruction errors) are computed by `vigil worker`
 * processes as `bias` jobs, one per distinct image content, through the same queue machinery as
 * screening (job ids, retries, dead letters, progress). The metrics are computed by the enqueuing
 * command from the collected observations with the local code, so results.json carries the same
 * numbers as a local run.
 */
import { isAbsolute, relative } from 'node:path';
import { allowedPath } from '../core/allowed-roots.js';
import { VigilInputError } from '../core/errors.js';
import type { ImageObserver } from '../bias/observer.js';
import { classify, embedImages, loadModel, reconstruct } from '../vision/index.js';
import type {
  ClassificationObservation,
  ClipModel,
  Device,
  EmbeddingObservation,
  ExecutionProvider,
  ImageInput,
  MaeModel,
  ObservationBase,
  Observed,
  ReconstructionObservation,
  VisionModel,
  VitModel,
} from '../vision/index.js';
import { parseQueueUrl, redactQueueUrl } from './connection.js';
import { runQueuedBatch } from './enqueue.js';
import { queueSecretFromEnv } from './integrity.js';
import { observationValueSchema } from './schemas.js';
import { MAX_MODEL_FILE_BYTES, type WorkerSettings } from './processors.js';
import type { ProcessFile } from './worker.js';

/** What a bias job computes for its image: the vision call and the parameters that change its result. */
export type ObservationRequest =
  | { observation: 'embedding' }
  | { observation: 'classification'; labels?: string[]; templates?: string[]; top?: number }
  | { observation: 'reconstruction'; seed: number; masks?: number };

/** The options document shared by the jobs of one queued observation pass. */
export interface QueuedObservationOptions {
  /** The model folder as workers resolve it: relative to their working folder, or absolute. */
  modelPath: string;
  /** The enqueuing side's model hash (`model.sha256`); a worker whose folder hashes differently refuses the job. */
  modelSha256: string;
  device: Device;
  request: ObservationRequest;
}

/**
 * A job's value: the observation with its float arrays as base64 of their bytes (little-endian,
 * as on every platform onnxruntime-node runs on), so every value, NaN included, comes back bit for bit.
 */
type EncodedObservation = { sha256: string; provider: ExecutionProvider; cached: boolean } & (
  | { observation: 'embedding'; embedding: string }
  | { observation: 'classification'; logits: string; probabilities: string; top: ClassificationObservation['top'] }
  | { observation: 'reconstruction'; reconstructionError: string; patchErrors: string; masks: number }
);

function packFloats(values: Float32Array | Float64Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function unpackBytes(text: string): ArrayBuffer {
  const bytes = Buffer.from(text, 'base64');
  // A copy: Buffer.from may return a view into a shared pool at an unaligned offset.
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

const unpackFloat32 = (text: string): Float32Array => new Float32Array(unpackBytes(text));
const unpackNumbers = (text: string): number[] => Array.from(new Float64Array(unpackBytes(text)));

function encodeObservation(obs: EmbeddingObservation | ClassificationObservation | ReconstructionObservation): EncodedObservation {
  const base = { sha256: obs.sha256, provider: obs.provider, cached: obs.cached };
  if ('embedding' in obs) return { ...base, observation: 'embedding', embedding: packFloats(obs.embedding) };
  if ('logits' in obs) {
    return {
      ...base,
      observation: 'classification',
      logits: packFloats(Float64Array.from(obs.logits)),
      probabilities: packFloats(Float64Array.from(obs.probabilities)),
      top: obs.top,
    };
  }
  return {
    ...base,
    observation: 'reconstruction',
    reconstructionError: packFloats(Float64Array.of(obs.reconstructionError)),
    patchErrors: packFloats(obs.patchErrors),
    masks: obs.masks,
  };
}

/** The vision stream for one request on one model (the vision calls check the model's kind). */
function observe(model: VisionModel, inputs: ImageInput[], request: ObservationRequest, cacheDir: string | false | undefined): AsyncIterable<Observed<EmbeddingObservation | ClassificationObservation | ReconstructionObservation>> {
  switch (request.observation) {
    case 'embedding':
      return embedImages(model as ClipModel, inputs, { cacheDir });
    case 'classification':
      return classify(model as VitModel | ClipModel, inputs, { cacheDir, labels: request.labels, templates: request.templates, top: request.top });
    case 'reconstruction':
      return reconstruct(model as MaeModel, inputs, { cacheDir, seed: request.seed, masks: request.masks });
  }
}

/**
 * The worker side: one processor per options document. Models are loaded once per folder and
 * device, however many passes (embedding, classification, ...) use them, and are checked against
 * the run's model hash before any job is computed.
 */
export function createObservationLoader(settings: WorkerSettings, allowRoots: Promise<string[]>): (options: QueuedObservationOptions) => Promise<ProcessFile> {
  const models = new Map<string, Promise<VisionModel>>();
  return async (options) => {
    if (options === null || typeof options !== 'object' || typeof options.modelPath !== 'string') {
      throw new VigilInputError('The job carries no model folder');
    }
    const dir = await allowedPath(options.modelPath, await allowRoots, { subject: 'Model folder', folder: true, maxBytes: MAX_MODEL_FILE_BYTES });
    const key = `${options.device}\0${dir}`;
    let loading = models.get(key);
    if (!loading) {
      loading = loadModel(dir, { device: options.device });
      models.set(key, loading);
      // A folder that fails to load may be fixed before the next job: load it again then.
      loading.catch(() => models.delete(key));
    }
    const model = await loading;
    if (model.sha256 !== options.modelSha256) {
      // Only whether it matches is said: a job must not learn anything about files on this worker.
      throw new VigilInputError(
        `This worker's model folder ${options.modelPath} is not the model the run was enqueued with ` +
          `(sha256 ${String(options.modelSha256).slice(0, 12)}…): give every worker the same model files at ${options.modelPath}`,
        { subject: dir },
      );
    }
    // An image the model cannot read is a result ({ ok: false }), recorded as a failure like in a local run.
    return async (bytes, fileName) => {
      const observed = [];
      for await (const obs of observe(model, [{ name: fileName, bytes }], options.request, settings.cacheDir)) observed.push(obs);
      const [obs] = observed;
      return obs.error === undefined ? { ok: true, value: encodeObservation(obs) } : { ok: false, error: obs.error };
    };
  };
}

/** The model path workers are told: relative to this folder when inside it (workers started in a checkout of the same tree find it), else absolute. */
function workerModelPath(dir: string): string {
  const path = relative(process.cwd(), dir);
  return path.startsWith('..') || isAbsolute(path) ? dir : path === '' ? '.' : path;
}

/**
 * The enqueuing side: an ImageObserver whose images are observed by workers. Outcomes come back
 * in input order; inputs that failed (unreadable, undecodable, dead-lettered) come back as
 * failures, so a bias run completes as it does locally. The model is loaded here too: its hash
 * identifies the run, and CLIP text embeddings (cheap) stay local.
 */
export function createQueuedObserver(url: string, settings: { device: Device }): ImageObserver & { failedJobs(): number } {
  const connection = parseQueueUrl(url);
  const secret = queueSecretFromEnv();
  let failedJobs = 0;
  const displayUrl = redactQueueUrl(url);
  const counts = { imagesInferred: 0, cacheHits: 0 };

  async function* observed<Output extends ObservationBase>(
    model: VisionModel,
    request: ObservationRequest,
    inputs: readonly ImageInput[],
    onImage: (() => void) | undefined,
    decode: (encoded: EncodedObservation, base: ObservationBase) => Output,
  ): AsyncGenerator<Observed<Output>> {
    const options: QueuedObservationOptions = { modelPath: workerModelPath(model.dir), modelSha256: model.sha256, device: settings.device, request };
    const outcomes = await runQueuedBatch({
      connection,
      displayUrl,
      kind: 'bias',
      options,
      secret,
      valueSchema: observationValueSchema,
      inputs,
      onSettled: (count) => {
        for (let i = 0; i < count; i++) onImage?.();
      },
    });
    failedJobs += outcomes.filter((outcome) => outcome.jobFailed).length;
    for (const { name, sha256, result } of outcomes) {
      if (!result.ok) {
        yield { file: name, sha256: sha256 ?? null, error: result.error };
        continue;
      }
      const encoded = result.value as EncodedObservation;
      if (encoded.observation !== request.observation) {
        throw new Error(`A worker answered a ${request.observation} job for ${name} with a ${String(encoded.observation)} observation`);
      }
      if (encoded.cached) counts.cacheHits++;
      else counts.imagesInferred++;
      yield decode(encoded, { file: name, sha256: encoded.sha256, provider: encoded.provider, cached: encoded.cached });
    }
  }

  return {
    embedImages: (model, inputs, options) =>
      observed(model, { observation: 'embedding' }, inputs, options.onImage, (encoded, base): EmbeddingObservation => ({
        ...base,
        embedding: unpackFloat32((encoded as Extract<EncodedObservation, { observation: 'embedding' }>).embedding),
      })),
    classify: (model, inputs, options) =>
      observed(model, { observation: 'classification', labels: options.labels, templates: options.templates, top: options.top }, inputs, options.onImage, (encoded, base): ClassificationObservation => {
        const value = encoded as Extract<EncodedObservation, { observation: 'classification' }>;
        return { ...base, logits: unpackNumbers(value.logits), probabilities: unpackNumbers(value.probabilities), top: value.top };
      }),
    reconstruct: (model, inputs, options) =>
      observed(model, { observation: 'reconstruction', seed: options.seed, masks: options.masks }, inputs, options.onImage, (encoded, base): ReconstructionObservation => {
        const value = encoded as Extract<EncodedObservation, { observation: 'reconstruction' }>;
        return { ...base, reconstructionError: unpackNumbers(value.reconstructionError)[0], patchErrors: unpackFloat32(value.patchErrors), masks: value.masks };
      }),
    stats: () => ({ ...counts }),
    failedJobs: () => failedJobs,
  };
}
