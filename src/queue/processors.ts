import { VigilInputError } from '../core/errors.js';
import { sha256File } from '../core/files.js';
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
}

export function createProcessorLoaders(settings: WorkerSettings = {}): ProcessorLoaders {
  const loadObservationProcessor = createObservationLoader(settings);
  return {
    screen: (raw) => loadScreenProcessor(raw as QueuedScreenOptions, settings),
    bias: (raw) => loadObservationProcessor(raw as QueuedObservationOptions),
  };
}

async function loadScreenProcessor(options: QueuedScreenOptions, settings: WorkerSettings): Promise<ProcessFile> {
  const probePath = options.probePath ?? DEFAULT_PROBE_PATH;
  const sha256 = await sha256File(probePath).catch(() => null);
  if (sha256 !== options.probeSha256) {
    throw new VigilInputError(
      `This worker's probe ${probePath} ${sha256 === null ? 'is missing' : `has sha256 ${sha256.slice(0, 12)}…`}, ` +
        `but the run was enqueued with sha256 ${options.probeSha256.slice(0, 12)}…: give every worker the same probe file`,
      { subject: probePath },
    );
  }
  const screener = await createScreener({
    probePath,
    signals: options.signals ?? undefined,
    clipDir: options.clipDir ?? undefined,
    maeDir: options.maeDir ?? undefined,
    device: options.device,
    cacheDir: settings.cacheDir,
  });
  // A file the screener cannot read is recorded in its result (status "error"), as in a local run.
  return async (bytes, fileName) => {
    const [result] = await screener.screen([{ name: fileName, bytes }]);
    return { ok: true, value: result };
  };
}
