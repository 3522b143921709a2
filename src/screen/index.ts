/**
 * Synthetic-media screening. Load a screener once, then screen paths or in-memory uploads:
 *
 *   const screener = await createScreener();          // default probe shipped in fixtures/screen
 *   const result = await screenImage(screener, bytes, 'upload.jpg');
 *   await screener.release();
 */
import type { ScreenFileResult } from './result.js';
import type { Screener } from './screener.js';

export type * from './result.js';
export { createScreener, type Screener, type ScreenerOptions, type ScreenInput } from './screener.js';
export { trainProbe, type TrainOptions } from './train.js';
export { evaluate, resolveGenerators, type EvalFile, type EvalOptions } from './eval.js';
export { EvalScores, SCORES_COLUMNS, SCORES_FILE } from './scores.js';
export { runScreen, triageCsv, type ScreenRunOptions } from './run.js';
export { screenVideo, isVideoPath, type VideoOptions } from './video.js';
export { loadProbe, saveProbe, DEFAULT_PROBE_PATH, type ScreenProbe } from './probe.js';
export { SIGNAL_IDS, isSignalId, type SignalMeta } from './signals/types.js';
export { SIGNALS } from './signals/index.js';

/** Screens ONE in-memory image with the screener's loaded models: exactly one entry of `vigil screen --json`'s `files`. */
export async function screenImage(screener: Screener, bytes: Uint8Array, name: string): Promise<ScreenFileResult> {
  const [result] = await screener.screen([{ name, bytes }]);
  return result;
}
