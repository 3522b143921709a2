import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { VigilInputError, invalidArgument } from '../core/errors.js';
import { VIDEO_EXTENSIONS } from '../core/extensions.js';
import { readInputFile, sha256File, sha256Hex, trackTempFile } from '../core/files.js';
import { DEFAULT_MAX_FILE_BYTES } from '../provenance/walk.js';
import { verdictFor } from './fusion.js';
import type { MetadataOutput, ScreenFileResult, VideoSummary } from './result.js';
import type { Screener } from './screener.js';
import { readMetadataFacts, scoreMetadata } from './signals/metadata.js';
import { SIGNAL_IDS } from './signals/types.js';

export function isVideoPath(path: string): boolean {
  return (VIDEO_EXTENSIONS as readonly string[]).includes(extname(path).slice(1).toLowerCase());
}

export interface VideoOptions {
  /** Frames sampled per second of video (ffmpeg fps filter). */
  fps: number;
  /** How many of the highest frame scores are averaged into the video's score. */
  topK: number;
  /** ffmpeg executable (default "ffmpeg" on PATH). */
  ffmpeg?: string;
  /** Stop after this many sampled frames (bounds work on long videos). */
  maxFrames?: number;
}

/** Runs ffmpeg to write sampled frames as PNG into `dir`. */
function extractFrames(path: string, dir: string, options: VideoOptions): Promise<void> {
  const ffmpeg = options.ffmpeg ?? 'ffmpeg';
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', path, '-vf', `fps=${options.fps}`];
  if (options.maxFrames !== undefined) args.push('-frames:v', String(options.maxFrames));
  args.push('-f', 'image2', join(dir, 'frame-%06d.png'));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new VigilInputError(`${path}: video screening needs ffmpeg, and "${ffmpeg}" was not found (install it, e.g. apt-get install ffmpeg, or pass --ffmpeg <path>)`, { subject: 'ffmpeg' })
          : new VigilInputError(`${path}: cannot run ${ffmpeg} (${error.message})`, { subject: 'ffmpeg' }),
      );
    });
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new VigilInputError(`${path}: ffmpeg could not decode the video (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`, { subject: path }));
    });
  });
}

/**
 * The video file's own metadata (C2PA manifest in MP4/MOV/AVI, XMP), read like an image's. Frames
 * extracted by ffmpeg carry none of it, so without this a video declared AI-generated in its
 * Content Credentials would be judged on its pixels alone. Files over provenance's size limit are
 * hashed without being held in memory, and their metadata is reported as not read.
 */
async function readVideo(path: string, withMetadata: boolean): Promise<{ sha256: string; metadata: MetadataOutput | null; note: string | null }> {
  const size = (await stat(path)).size;
  if (!withMetadata || size > DEFAULT_MAX_FILE_BYTES) {
    const note = withMetadata ? `the video's own metadata (C2PA, XMP) was not read: ${size} bytes, over the ${DEFAULT_MAX_FILE_BYTES}-byte limit` : null;
    return { sha256: await sha256File(path), metadata: null, note };
  }
  const bytes = await readInputFile(path, { what: 'video', maxBytes: DEFAULT_MAX_FILE_BYTES });
  const facts = await readMetadataFacts(bytes);
  return { sha256: sha256Hex(bytes), metadata: { ...scoreMetadata(facts), facts }, note: null };
}

/**
 * Screens a video: samples frames with ffmpeg at `fps`, scores each frame as an image, and
 * aggregates (max, mean, top-k mean; the video's score is the top-k mean, which one odd frame
 * cannot dominate) with a per-second timeline. The video file's own metadata counts like an
 * image's: a C2PA declaration of AI generation makes it likely-synthetic, declared AI
 * involvement (an AI edit, an AI ingredient) floors it at uncertain.
 */
export async function screenVideo(screener: Screener, path: string, options: VideoOptions): Promise<ScreenFileResult> {
  if (!(options.fps > 0 && options.fps <= 60)) throw invalidArgument('fps', 'a number of frames per second in (0, 60]', options.fps);
  if (!Number.isInteger(options.topK) || options.topK < 1) throw invalidArgument('top-k', 'a positive integer', options.topK);
  const dir = await mkdtemp(join(tmpdir(), 'vigil-video-'));
  // Frames are removed however screening ends, also on SIGINT/SIGTERM/SIGHUP mid-video.
  const untrack = trackTempFile(dir);
  try {
    const { sha256, metadata, note } = await readVideo(path, screener.signals.includes('metadata'));
    await extractFrames(path, dir, options);
    const frameFiles = (await readdir(dir)).filter((f) => f.endsWith('.png')).sort();
    if (frameFiles.length === 0) throw new VigilInputError(`${path}: ffmpeg produced no frames (is the video empty?)`, { subject: path });
    const times = frameFiles.map((_, i) => i / options.fps);
    const inputs = await Promise.all(frameFiles.map(async (f, i) => ({ name: `${path}#t=${times[i].toFixed(2)}s`, bytes: await readFile(join(dir, f)) })));
    const frames = await screener.screen(inputs);
    const scored = frames.flatMap((r, i) => (r.score === null ? [] : [{ result: r, time: times[i], score: r.score }]));
    const base: ScreenFileResult = {
      file: path,
      sha256,
      media: 'video',
      status: 'ok',
      error: null,
      format: extname(path).slice(1).toLowerCase(),
      width: frames.find((f) => f.width !== null)?.width ?? null,
      height: frames.find((f) => f.height !== null)?.height ?? null,
      score: null,
      verdict: null,
      reasons: [],
      signalsRun: SIGNAL_IDS.filter((id) => frames.some((f) => f.signalsRun.includes(id))),
      signalsMissing: [],
      thresholds: null,
      distribution: null,
      signals: {},
    };
    if (scored.length === 0) {
      return { ...base, status: 'error', error: `no frame of ${frameFiles.length} could be scored (${frames[0]?.error ?? 'unknown error'})` };
    }
    const sorted = scored.map((s) => s.score).sort((a, b) => b - a);
    const k = Math.min(options.topK, sorted.length);
    const topKMean = sorted.slice(0, k).reduce((a, b) => a + b, 0) / k;
    const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    const top = scored.reduce((a, b) => (b.score > a.score ? b : a));
    const thresholds = top.result.thresholds!;
    const seconds = new Map<number, number[]>();
    for (const s of scored) {
      const second = Math.floor(s.time + 1e-9);
      seconds.set(second, [...(seconds.get(second) ?? []), s.score]);
    }
    const video: VideoSummary = {
      sampleFps: options.fps,
      framesSampled: frameFiles.length,
      framesScored: scored.length,
      aggregates: { max: sorted[0], mean, topKMean, k },
      timeline: [...seconds.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([second, scores]) => {
          const maxScore = Math.max(...scores);
          return { second, frames: scores.length, maxScore, meanScore: scores.reduce((a, b) => a + b, 0) / scores.length, verdict: verdictFor(maxScore, thresholds, false) };
        }),
      frames: frames.map((r, i) => ({ time: times[i], score: r.score, verdict: r.verdict, error: r.error })),
    };
    const frameDeclaring = frames.find((f) => f.signals.metadata?.declared);
    const declared = metadata?.declared === true || frameDeclaring !== undefined;
    const aiInvolved = !declared && metadata?.aiInvolved === true;
    const declaration = metadata?.declared === true ? `the video's metadata: ${metadata.findings[0]}` : frameDeclaring ? `a frame's metadata: ${frameDeclaring.signals.metadata!.findings[0]}` : null;
    // The frames that decide the score: when most of them lie outside the probe's training
    // distribution, the video's verdict is "cannot tell" like an image's.
    const deciding = [...scored].sort((a, b) => b.score - a.score).slice(0, k);
    const outside = deciding.filter((s) => s.result.distribution !== null && !s.result.distribution.inDistribution);
    const outOfDistribution = outside.length * 2 > deciding.length;
    const verdict = verdictFor(topKMean, thresholds, declared, outOfDistribution, aiInvolved);
    return {
      ...base,
      score: topKMean,
      verdict,
      thresholds,
      // The frame signals of the highest-scoring frame; metadata is the video file's own.
      signals: { ...top.result.signals, ...(metadata === null ? {} : { metadata }) },
      distribution: top.result.distribution,
      video,
      reasons: [
        ...(declaration !== null ? [`metadata declares AI generation: ${declaration}`] : []),
        ...(aiInvolved ? [`metadata says generative AI was involved, so the verdict is at least uncertain: ${metadata!.findings[0]}`] : []),
        ...(outOfDistribution && !declared
          ? [`out-of-distribution: cannot tell (${outside.length} of the top ${deciding.length} frames lie outside what the probe was trained on: ${outside[0].result.distribution!.why.join('; ')})`]
          : []),
        `top-${k} frame mean P(synthetic) ${topKMean.toFixed(3)} (max ${sorted[0].toFixed(3)} at ${top.time.toFixed(2)}s, mean ${mean.toFixed(3)} over ${scored.length} frames)`,
        ...top.result.reasons.slice(1).filter((r) => !r.startsWith('metadata')).map((r) => `highest frame: ${r}`),
        ...(metadata !== null && !declared ? metadata.findings.map((f) => `metadata: ${f}`) : []),
        ...(note !== null ? [note] : []),
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
    untrack();
  }
}
