import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMarkdown, renderReport } from '../../src/report/render.js';
import { runScreen } from '../../src/screen/run.js';
import { createScreener, type Screener } from '../../src/screen/screener.js';
import { signImage } from '../../src/provenance/sign.js';
import { devWorkspace, MEDIA_DIR } from '../provenance/helpers.js';
import { HELDOUT_FAKE, HELDOUT_REAL, tempDir } from './helpers.js';

const HAVE_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0;
let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
let screener: Screener;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('vigil-screen-video-'));
  screener = await createScreener({ cacheDir: false }); // the shipped default probe
  if (!HAVE_FFMPEG) return;
  // 4 s at 2 frames/s: seconds 0-1 real fixture frames, seconds 2-3 transposed-conv fakes.
  const sources = [
    ...['001.png', '002.jpg', '003.jpg', '004.jpg'].map((n) => join(HELDOUT_REAL, `real-heldout-${n}`)),
    ...['001.png', '002.jpg', '003.png', '004.png'].map((n) => join(HELDOUT_FAKE, 'tconv', `tconv-heldout-${n}`)),
  ];
  for (const [i, source] of sources.entries()) await sharp(await readFile(source)).png().toFile(join(dir, `frame${String(i).padStart(2, '0')}.png`));
  clip = join(dir, 'clip.mp4');
  const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-framerate', '2', '-i', join(dir, 'frame%02d.png'), '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv420p', clip]);
  if (made.status !== 0) throw new Error(`ffmpeg could not make the test video: ${made.stderr}`);
});

afterAll(async () => {
  await screener?.release();
  await cleanup?.();
});

describe.runIf(HAVE_FFMPEG)('video screening', () => {
  it('samples frames, scores them, aggregates max/mean/top-k and gives a per-second timeline', async () => {
    const results = await runScreen(screener, [clip], { video: { fps: 2, topK: 2 } });
    const [file] = results.files;
    expect(file.status).toBe('ok');
    expect(file.media).toBe('video');
    const video = file.video!;
    expect(video.framesSampled).toBe(8);
    expect(video.framesScored).toBe(8);
    expect(video.timeline.map((t) => t.second)).toEqual([0, 1, 2, 3]);
    expect(video.timeline.every((t) => t.frames === 2)).toBe(true);
    const { max, mean, topKMean, k } = video.aggregates;
    expect(k).toBe(2);
    expect(max).toBeGreaterThanOrEqual(topKMean);
    expect(topKMean).toBeGreaterThanOrEqual(mean);
    expect(file.score).toBe(topKMean);
    // the fake half of the clip is where the timeline peaks
    const firstHalf = Math.max(video.timeline[0].maxScore, video.timeline[1].maxScore);
    const secondHalf = Math.min(video.timeline[2].maxScore, video.timeline[3].maxScore);
    expect(secondHalf).toBeGreaterThan(firstHalf);
    expect(file.reasons[0]).toMatch(/^top-2 frame mean P\(synthetic\)/);

    // The report shows the same timeline: a chart over the verdict bands, and a row per second with its verdict.
    const html = await renderReport(results);
    const timelines = html.slice(html.indexOf('<section id="timelines"'), html.indexOf('<section id="evidence"'));
    expect(timelines).toContain(`aria-label="P(synthetic) per second of ${clip} over 4 second(s)`);
    expect(timelines).toMatch(/<svg[^>]*>/);
    const rows = [...timelines.matchAll(/<tr data-second="(\d+)" data-verdict="([a-z-]+)">.*?data-value="([0-9.e-]+)"/g)].map((m) => [Number(m[1]), m[2], Number(m[3])]);
    expect(rows).toEqual(video.timeline.map((t) => [t.second, t.verdict, t.maxScore]));
    const markdown = await renderMarkdown(results);
    expect(markdown).toContain('## Video timelines');
    expect(markdown.match(/^\| [0-3] \| 2 \| /gm)).toHaveLength(4);
  });

  it('a folder run picks up its videos next to its images', async () => {
    const results = await runScreen(screener, [dir], { video: { fps: 1, topK: 1 } });
    expect(results.files.filter((f) => f.media === 'video').map((f) => f.file)).toEqual([clip]);
    expect(results.files.filter((f) => f.media === 'image')).toHaveLength(8);
  });

  it('leaves no extracted frames behind when the run is killed mid-video (SIGTERM)', async () => {
    const tmp = join(dir, 'kill-tmp');
    await mkdir(tmp);
    const child = spawn(join(process.cwd(), 'node_modules', '.bin', 'tsx'), [join(process.cwd(), 'src', 'cli', 'main.ts'), 'screen', clip, '--fps', '30', '--signals', 'spectral,residual,metadata', '--json'], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Wait until ffmpeg has written frames into the run's temp folder, then interrupt.
    let frames = false;
    for (let i = 0; i < 1500 && !frames; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const dirs = (await readdir(tmp)).filter((d) => d.startsWith('vigil-video-'));
      frames = dirs.length > 0 && (await readdir(join(tmp, dirs[0])).catch(() => [])).length > 0;
    }
    expect(frames).toBe(true);
    child.kill('SIGTERM');
    await exited;
    expect((await readdir(tmp)).filter((d) => d.startsWith('vigil-video-'))).toEqual([]);
  });

  it('samples at the requested rate', async () => {
    const [file] = (await runScreen(screener, [clip], { video: { fps: 1, topK: 3 } })).files;
    expect(file.video!.framesSampled).toBe(4);
    expect(file.video!.timeline.every((t) => t.frames === 1)).toBe(true);
  });
});

describe.runIf(HAVE_FFMPEG)("the video file's own Content Credentials", () => {
  const workspace = devWorkspace();
  const signed = async (sourceType: string): Promise<string> => {
    const output = workspace.path(`${sourceType}.mp4`);
    await signImage({ input: join(MEDIA_DIR, 'clip.mp4'), output, signer: workspace.dev.signer, sourceType });
    return output;
  };

  it('a video whose C2PA declares AI generation is likely-synthetic whatever its frames score, with the evidence path', async () => {
    const path = await signed('trainedAlgorithmicMedia');
    const [file] = (await runScreen(screener, [path], { video: { fps: 2, topK: 1 } })).files;
    expect(file.status).toBe('ok');
    expect(file.verdict).toBe('likely-synthetic');
    expect(file.signals.metadata?.declared).toBe(true);
    expect(file.signals.metadata?.facts.format).toBe('video/mp4');
    expect(file.reasons[0]).toMatch(/^metadata declares AI generation: the video's metadata: C2PA declares AI generation: .*trainedAlgorithmicMedia.* at .*c2pa\.actions/);
  });

  it('declared AI involvement (a composite with AI) floors the verdict at uncertain; a camera capture declares nothing', async () => {
    const composite = await signed('compositeWithTrainedAlgorithmicMedia');
    const capture = await signed('digitalCapture');
    const [a, b] = (await runScreen(screener, [composite, capture], { video: { fps: 2, topK: 1 } })).files;
    expect(a.signals.metadata?.aiInvolved).toBe(true);
    expect(a.verdict === 'uncertain' || a.verdict === 'likely-synthetic').toBe(true);
    expect(a.reasons.join('\n')).toMatch(/metadata says generative AI was involved, so the verdict is at least uncertain/);
    expect(b.signals.metadata?.declared).toBe(false);
    expect(b.signals.metadata?.aiInvolved).toBe(false);
    expect(b.reasons.join('\n')).not.toMatch(/declares AI|generative AI was involved/);
    // The unsigned original scores on its pixels alone, exactly as the signed capture does.
    const [plain] = (await runScreen(screener, [join(MEDIA_DIR, 'clip.mp4')], { video: { fps: 2, topK: 1 } })).files;
    expect(b.score).toBe(plain.score);
    expect(b.verdict).toBe(plain.verdict);
  });
});

describe('video screening without ffmpeg', () => {
  it('records a clear error naming ffmpeg and how to get it; other files still screen', async () => {
    await writeFile(join(dir, 'absent-ffmpeg.mp4'), Buffer.alloc(64));
    const results = await runScreen(screener, [join(dir, 'absent-ffmpeg.mp4'), join(HELDOUT_REAL, 'real-heldout-001.png')], {
      video: { fps: 2, topK: 3, ffmpeg: join(dir, 'no-such-ffmpeg') },
    });
    const video = results.files.find((f) => f.media === 'video')!;
    expect(video.status).toBe('error');
    expect(video.error).toMatch(/absent-ffmpeg\.mp4: video screening needs ffmpeg, and ".*no-such-ffmpeg" was not found \(install it, e\.g\. apt-get install ffmpeg, or pass --ffmpeg <path>\)/);
    expect(results.files.find((f) => f.media === 'image')!.status).toBe('ok');
  });
});
