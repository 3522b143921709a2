/**
 * Screening throughput on 512 px images (half JPEG q90, half PNG, made from the fixtures).
 * - Fast path (spectral + residual + metadata), in the main thread and on worker threads, against
 *   the reference measured in the same run: decoding alone with sharp (the floor any pixel signal
 *   pays). Goal: >= 200 images/s on 2 cores. Then the CPU cost of each signal of the registry.
 * - --out against --json: the same fast path writing evidence images (spectrum PNGs) to a
 *   folder. Goal: >= 0.8x the throughput without evidence.
 * - Full path (all signals of a probe with CLIP + MAE), against model-only throughput: the same
 *   images through embedImages + reconstruct alone (cache off). The full path is bounded by the
 *   models; the ratio says how much screening adds on top.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_PROBE_PATH, loadProbe, resolvePortablePath } from '../src/screen/probe.js';
import { createScreener, type ScreenInput } from '../src/screen/screener.js';
import { decodeImage } from '../src/screen/image.js';
import { FEATURE_SIGNALS } from '../src/screen/signals/index.js';
import { readMetadataFacts } from '../src/screen/signals/metadata.js';
import { embedImages, listImageFiles, loadModel, reconstruct, type ClipModel, type MaeModel } from '../src/vision/index.js';

const IMAGES = 256;
const SIZE = 512;
const ROUNDS = 5;

async function testSet(): Promise<{ name: string; bytes: Uint8Array }[]> {
  const { files } = await listImageFiles([join('fixtures', 'screen', 'heldout')]);
  return Promise.all(
    Array.from({ length: IMAGES }, async (_, i) => {
      const image = sharp(await readFile(files[i % files.length])).resize(SIZE, SIZE, { kernel: 'lanczos3' });
      const bytes = i % 2 === 0 ? await image.jpeg({ quality: 90 }).toBuffer() : await image.png().toBuffer();
      return { name: `bench-${i}.${i % 2 === 0 ? 'jpg' : 'png'}`, bytes };
    }),
  );
}

/**
 * Best of ROUNDS per contender, rounds interleaved (A B C, A B C, ...) so that load from other
 * processes on a shared machine hits every contender alike; the best round is the least disturbed.
 * Returns images/s per contender.
 */
async function interleaved(contenders: (() => Promise<unknown>)[], count: number, rounds: number): Promise<{ rate: number; cpuMs: number }[]> {
  const best = contenders.map(() => ({ rate: 0, cpuMs: Infinity }));
  for (let r = 0; r < rounds; r++) {
    for (const [i, run] of contenders.entries()) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      await run();
      const used = process.cpuUsage(cpu);
      best[i].rate = Math.max(best[i].rate, (count * 1000) / (performance.now() - start));
      // CPU time of the whole process (every thread) per image: what the work costs, whatever the load.
      best[i].cpuMs = Math.min(best[i].cpuMs, (used.user + used.system) / 1000 / count);
    }
  }
  return best;
}

/** Wall-clock images/s, CPU ms per image, the 2-core capacity those CPU ms imply, and the ratio to the reference. */
const row = (label: string, m: { rate: number; cpuMs: number }, reference?: { rate: number; cpuMs: number }) =>
  console.log(
    `${label.padEnd(52)} ${m.rate.toFixed(1).padStart(7)} img/s  ${m.cpuMs.toFixed(2).padStart(6)} CPU ms/img  ${(2000 / m.cpuMs).toFixed(0).padStart(5)} img/s on 2 free cores` +
      (reference === undefined ? '' : `  ratio ${(m.rate / reference.rate).toFixed(2)} (CPU ${(reference.cpuMs / m.cpuMs).toFixed(2)})`),
  );

export async function run(): Promise<void> {
  const inputs: ScreenInput[] = await testSet();
  const cores = availableParallelism();
  console.log(`${IMAGES} images of ${SIZE}×${SIZE} px, ${cores} cores, load average ${loadavg()[0].toFixed(1)}; best of interleaved rounds`);

  const fast = { probePath: DEFAULT_PROBE_PATH, signals: ['spectral', 'residual', 'metadata'] as ('spectral' | 'residual' | 'metadata')[] };
  const workers = Math.max(2, Math.min(4, cores));
  const inline = await createScreener({ ...fast, workers: 0 });
  const pooled = await createScreener({ ...fast, workers });
  await pooled.screen(inputs); // start the workers and warm their JIT
  await inline.screen(inputs);
  const [decode, inlineRate, pooledRate] = await interleaved(
    [() => Promise.all(inputs.map((i) => sharp((i as { bytes: Uint8Array }).bytes).greyscale().raw().toBuffer())), () => inline.screen(inputs), () => pooled.screen(inputs)],
    IMAGES,
    ROUNDS,
  );
  await pooled.release();
  row('reference: sharp decode to luma only', decode);
  row('fast path (spectral+residual+metadata), main thread', inlineRate, decode);
  row(`fast path (spectral+residual+metadata), ${workers} workers`, pooledRate, decode);

  // Cost of each signal on already decoded images (CPU ms per image), and of the decode itself.
  const decoded = await Promise.all(inputs.map((i) => decodeImage((i as { bytes: Uint8Array }).bytes, 'bench')));
  const costs = await interleaved(
    [
      () => Promise.all(inputs.map((i) => decodeImage((i as { bytes: Uint8Array }).bytes, 'bench'))),
      ...FEATURE_SIGNALS.map((signal) => async () => decoded.forEach((image) => signal.extract(image))),
      () => Promise.all(inputs.map((i) => readMetadataFacts((i as { bytes: Uint8Array }).bytes))),
    ],
    IMAGES,
    ROUNDS,
  );
  const names = ['decode (sharp, RGB + luma)', ...FEATURE_SIGNALS.map((s) => `signal ${s.id}`), 'signal metadata (facts)'];
  costs.forEach((cost, i) => row(`  cost: ${names[i]}`, cost));

  // --out (evidence images written) against --json (none), same screener.
  const outDir = await mkdtemp(join(tmpdir(), 'vigil-bench-screen-'));
  try {
    const [jsonRate, outRate] = await interleaved([() => inline.screen(inputs), () => inline.screen(inputs, { evidenceDir: outDir })], IMAGES, ROUNDS);
    row('--json: fast path, no evidence', jsonRate);
    row('--out: fast path + spectrum evidence PNGs', outRate, jsonRate);
    console.log(`goal --out >= 0.8x --json: ${(outRate.rate / jsonRate.rate).toFixed(2)}x wall-clock, ${(jsonRate.cpuMs / outRate.cpuMs).toFixed(2)}x by CPU cost`);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
  await inline.release();
  const bestFast = Math.max(inlineRate.rate, pooledRate.rate);
  const capacity = 2000 / inlineRate.cpuMs;
  console.log(
    `goal >= 200 img/s on 2 cores: measured ${bestFast.toFixed(0)} img/s wall-clock on this (shared) machine; ` +
      `${capacity.toFixed(0)} img/s from CPU cost on 2 free cores (${(capacity / 200).toFixed(2)} of goal)`,
  );

  const probe = await loadProbe(DEFAULT_PROBE_PATH);
  if (!probe.clipProbe || !probe.maeRecon || !existsSync(resolvePortablePath(probe.clipProbe.clipModelDir))) {
    console.log('full path: skipped (the default probe has no CLIP/MAE signals or their model folders are missing)');
    return;
  }
  const clip = (await loadModel(resolvePortablePath(probe.clipProbe.clipModelDir))) as ClipModel;
  const mae = (await loadModel(resolvePortablePath(probe.maeRecon.maeModelDir))) as MaeModel;
  const full = await createScreener({ probePath: DEFAULT_PROBE_PATH, cacheDir: false });
  const [modelOnly, fullRate] = await interleaved(
    [
      async () => {
        for await (const _ of embedImages(clip, inputs, { cacheDir: false })) void _;
        for await (const _ of reconstruct(mae, inputs, { cacheDir: false, seed: probe.maeRecon!.seed, masks: probe.maeRecon!.masks })) void _;
      },
      () => full.screen(inputs),
    ],
    IMAGES,
    2,
  );
  await clip.release();
  await mae.release();
  await full.release();
  row('reference: CLIP embed + MAE reconstruct only', modelOnly);
  row(`full path (${probe.signals.join('+')})`, fullRate, modelOnly);
  console.log(`full path reaches ${((fullRate.rate / modelOnly.rate) * 100).toFixed(0)}% of model-only throughput (${((modelOnly.cpuMs / fullRate.cpuMs) * 100).toFixed(0)}% by CPU cost)`);
}
