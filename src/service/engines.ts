import { VigilInputError } from '../core/errors.js';
import { initEngine } from '../provenance/engine.js';
import { loadTrustLists } from '../provenance/trust.js';
import { verifyBytes } from '../provenance/verify.js';
import { createScreener, type ScreenerOptions } from '../screen/screener.js';

/**
 * What the service runs per request. Loaded once at start (models, probe, calibration, wasm) and
 * shared by every request.
 */
export interface InferenceEngines {
  /** One image scored exactly as one file of `vigil screen --json` (same JSON). */
  screen(bytes: Buffer, fileName: string): Promise<unknown>;
  /** One file verified exactly as one file of `vigil provenance verify --json` (same JSON). */
  verify(bytes: Buffer, fileName: string): Promise<unknown>;
  /** What was loaded (model ids and hashes, signals, provider), shown by /readyz. */
  readonly description: Record<string, unknown>;
}

export interface EngineOptions {
  screener: ScreenerOptions;
  /** `name=file.pem` trust lists, as `vigil provenance verify --trust-anchors`. */
  trustAnchors: readonly string[];
}

/**
 * The real engines: the screener (probe, calibration, CLIP/MAE sessions) and the C2PA wasm
 * module, each loaded once. A file the screener records as an error becomes a VigilInputError,
 * answered 422 with its reason.
 */
export async function loadEngines(options: EngineOptions): Promise<InferenceEngines & { release(): Promise<void> }> {
  const trustLists = await loadTrustLists(options.trustAnchors);
  await initEngine();
  const screener = await createScreener({ ...options.screener, cacheDir: options.screener.cacheDir ?? false });
  return {
    description: {
      screen: { signals: screener.signals, probe: screener.summary },
      provenance: { trustLists: trustLists.map((list) => ({ name: list.name, anchors: list.anchors.length })) },
    },
    async screen(bytes, fileName) {
      const [result] = await screener.screen([{ name: fileName, bytes }]);
      if (result.status === 'error') throw new VigilInputError(result.error ?? `${fileName}: cannot be screened`, { subject: fileName });
      return result;
    },
    verify(bytes, fileName) {
      return verifyBytes(bytes, fileName, { trustLists });
    },
    release: () => screener.release(),
  };
}
