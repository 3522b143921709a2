import { stat } from 'node:fs/promises';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { toCsv } from '../core/csv.js';
import { VIDEO_EXTENSIONS } from '../core/extensions.js';
import { sha256File } from '../core/files.js';
import { resultEnvelope } from '../core/results.js';
import { walkFiles } from '../core/walk.js';
import { expandImagePath } from '../vision/images.js';
import { VERDICTS, type Verdict } from './fusion.js';
import type { ScreenFileResult, ScreenRunResults } from './result.js';
import { blankFileResult, type Screener } from './screener.js';
import { isVideoPath, screenVideo, type VideoOptions } from './video.js';

export interface ScreenRunOptions {
  /** Results folder: evidence images are written under it. */
  outDir?: string;
  video: VideoOptions;
  onItem?: () => void;
  onTotal?: (total: number) => void;
  /** Follow symbolic links out of the given folders (`--follow-symlinks`); default: stay inside them. */
  followSymlinks?: boolean;
}

/** The record of a file that could not be screened. */
export function errorResult(file: string, error: string, sha256: string | null = null): ScreenFileResult {
  return { ...blankFileResult(file, isVideoPath(file) ? 'video' : 'image'), sha256, status: 'error', error };
}

/** Videos under a folder (recursively, sorted); nothing for a file or glob. */
async function videosInFolder(path: string, followSymlinks: boolean | undefined): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) return [];
  return walkFiles(path, { extensions: VIDEO_EXTENSIONS, followSymlinks });
}

const VERDICT_RANK: Record<Verdict, number> = { 'likely-synthetic': 0, uncertain: 1, 'no-evidence': 2 };

/**
 * Triage order: by verdict (likely-synthetic, uncertain, no-evidence), then highest P(synthetic)
 * first; errors last, in input order. Files scored with different signal subsets have different
 * thresholds (and out-of-distribution files are uncertain whatever their score), so score alone
 * could rank an uncertain file above a likely-synthetic one.
 */
export function triageOrder(files: readonly ScreenFileResult[]): ScreenFileResult[] {
  const rank = (f: ScreenFileResult): number => (f.verdict === null ? 3 : VERDICT_RANK[f.verdict]);
  return [...files].sort((a, b) => rank(a) - rank(b) || (b.score ?? -1) - (a.score ?? -1));
}

/**
 * `vigil screen <paths...>`: expands paths (files, folders, globs; videos by extension), screens
 * images in batches and videos frame by frame, and returns the results document. A path that
 * matches nothing or a file that fails is recorded; the batch goes on.
 */
export async function runScreen(screener: Screener, paths: readonly string[], options: ScreenRunOptions): Promise<ScreenRunResults> {
  const images: string[] = [];
  const videos: string[] = [];
  const failures: ScreenFileResult[] = [];
  for (const path of paths) {
    if (isVideoPath(path)) {
      videos.push(path);
      continue;
    }
    try {
      const files = await expandImagePath(path, undefined, { followSymlinks: options.followSymlinks });
      const folderVideos = await videosInFolder(path, options.followSymlinks);
      if (files.length === 0 && folderVideos.length === 0) failures.push(errorResult(path, `${path}: no such file, or no images or videos in it`));
      images.push(...files);
      videos.push(...folderVideos);
    } catch (error) {
      failures.push(errorResult(path, errorMessage(error)));
    }
  }
  options.onTotal?.(images.length + videos.length);
  const files = [...failures, ...(await screener.screen(images, { evidenceDir: options.outDir, onItem: options.onItem }))];
  for (const video of videos) {
    try {
      files.push(await screenVideo(screener, video, options.video));
    } catch (error) {
      files.push(errorResult(video, errorMessage(error), await sha256File(video).catch(() => null)));
    }
    options.onItem?.();
  }
  if (files.length === 0) throw new VigilInputError('no input files');
  const verdicts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const file of files) if (file.verdict) verdicts[file.verdict]++;
  return {
    ...resultEnvelope('screen'),
    schema: 'vigil/screen',
    probe: screener.summary,
    signalsRequested: screener.signals,
    files: triageOrder(files),
    summary: { files: files.length, errors: files.filter((f) => f.status === 'error').length, verdicts },
    csv: null,
  };
}

const CSV_COLUMNS = [
  'rank',
  'file',
  'media',
  'verdict',
  'score',
  'spectral',
  'clip_probe',
  'mae_recon',
  'metadata',
  'metadata_cue',
  'signals_run',
  'reason',
  'spectrum_evidence',
  'mae_evidence',
  'sha256',
  'error',
] as const;

/** The triage CSV: one row per file, highest score first (formula-neutralised by the core writer). */
export function triageCsv(results: ScreenRunResults): string {
  return toCsv(
    CSV_COLUMNS,
    triageOrder(results.files).map((f, i) => [
      i + 1,
      f.file,
      f.media,
      f.verdict,
      f.score,
      f.signals.spectral?.score,
      f.signals['clip-probe']?.score,
      f.signals['mae-recon']?.score,
      f.signals.metadata?.score,
      f.signals.metadata?.cue,
      f.signalsRun.join(' '),
      f.reasons[0],
      f.signals.spectral?.evidence,
      f.signals['mae-recon']?.evidence,
      f.sha256,
      f.error,
    ]),
  );
}
