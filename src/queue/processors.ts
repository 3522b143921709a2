import { allowedPath, resolveRoots } from '../core/allowed-roots.js';
import { VigilInputError } from '../core/errors.js';
import { sha256File } from '../core/files.js';
import { PACKAGE_ROOT } from '../core/version.js';
import { DEFAULT_PROBE_PATH } from '../screen/probe.js';
import { createScreener } from '../screen/screener.js';
import type { SignalId } from '../screen/signals/types.js';
import type { Device } from '../vision/index.js';
import { createObservationLoader, type QueuedObservationOptions } from './observations.js';
import type { ProcessFile, ProcessorLoaders } from './worker.js';

/**
 * The screening options a queued run sends to its workers. Paths are resolved on each worker, so
 * every worker needs the probe and models at the same paths (the defaults ship with vigil); the
 * probe's sha256 guarantees they all score with the same probe as the enqueuing command.
 */
export interface QueuedScreenOptions {
  /** null: the default probe shipped with vigil. */
  probePath: string | null;
  probeSha256: string;
  /** null: every signal the probe was trained with. */
  signals: SignalId[] | null;
  clipDir: string | null;
  maeDir: string | null;
  device: Device;
}

/** Builds the options on the enqueuing side, hashing the probe that will be used. */
export async function queuedScreenOptions(options: Omit<QueuedScreenOptions, 'probeSha256'>): Promise<QueuedScreenOptions> {
  return { ...options, probeSha256: await sha256File(options.probePath ?? DEFAULT_PROBE_PATH) };
}

/** Settings of this worker process, not of the run: they do not change any result. */
export interface WorkerSettings {
  /** Vision observation cache folder; false disables it (default: $VIGIL_CACHE_DIR or .vigil-cache). */
  cacheDir?: string | false;
  /**
   * Folders jobs may name probes and models in (after symlinks are resolved); default: the vigil
   * package (bundled probe and fixture models) and the worker's working folder.
   */
  allowRoots?: readonly string[];
}

/** Largest probe file a job may name; probes are small JSON documents. */
export const MAX_PROBE_BYTES = 64 * 2 ** 20;
/** Largest single file of a model folder a job may name. */
export const MAX_MODEL_FILE_BYTES = 16 * 2 ** 30;

/** The roots a worker allows by default. */
export function defaultAllowRoots(): string[] {
  return [PACKAGE_ROOT, process.cwd()];
}

export function createProcessorLoaders(settings: WorkerSettings = {}): ProcessorLoaders {
  const roots = resolveRoots(settings.allowRoots ?? defaultAllowRoots());
  const loadObservationProcessor = createObservationLoader(settings, roots);
  return {
    screen: async (raw) => loadScreenProcessor(raw as QueuedScreenOptions, settings, await roots),
    bias: (raw) => loadObservationProcessor(raw as QueuedObservationOptions),
  };
}

async function loadScreenProcessor(options: QueuedScreenOptions, settings: WorkerSettings, roots: string[]): Promise<ProcessFile> {
  if (options === null || typeof options !== 'object') throw new VigilInputError('The job carries no screening options');
  const probePath = await allowedPath(options.probePath ?? DEFAULT_PROBE_PATH, roots, { subject: 'Probe', maxBytes: MAX_PROBE_BYTES });
  const modelDir = async (dir: string | null, subject: string): Promise<string | undefined> =>
    dir === null ? undefined : allowedPath(dir, roots, { subject, folder: true, maxBytes: MAX_MODEL_FILE_BYTES });
  const [clipDir, maeDir] = [await modelDir(options.clipDir, 'CLIP model folder'), await modelDir(options.maeDir, 'MAE model folder')];
  // Only whether it matches is said: a job must not learn anything about files on this worker.
  if ((await sha256File(probePath)) !== options.probeSha256) {
    throw new VigilInputError(
      `This worker's probe ${options.probePath ?? DEFAULT_PROBE_PATH} is not the file the run was enqueued with ` +
        `(sha256 ${String(options.probeSha256).slice(0, 12)}…): give every worker the same probe file`,
      { subject: probePath },
    );
  }
  const screener = await createScreener({
    probePath,
    signals: options.signals ?? undefined,
    clipDir,
    maeDir,
    device: options.device,
    cacheDir: settings.cacheDir,
  });
  // A file the screener cannot read is recorded in its result (status "error"), as in a local run.
  return async (bytes, fileName) => {
    const [result] = await screener.screen([{ name: fileName, bytes }]);
    return { ok: true, value: result };
  };
}
