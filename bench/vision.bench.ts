/**
 * bench/vision, three parts (VIGIL_BENCH_VISION=torch,q8,tjs picks some; default all whose models exist):
 *
 * torch — images/s of the ViT-B/32-sized CLIP image tower at batch 1, 8 and 32.
 *   (a) vigil end to end: JPEG files → decode + preprocess (sharp) → inference, via embedImages
 *   (b) model only: the same onnxruntime session on a pre-made tensor
 *   (c) PyTorch eager CPU (tools/torch_bench.py) on the same weights and the same preprocessed pixels
 * plus the machine's sustained fp32 matmul rate (an onnxruntime MatMul graph, same threads), and
 * (a)'s model FLOP rate as a fraction of it.
 *
 * q8 — the full-size ViT-B/32 image tower (tools/build_real_models.py, real config), fp32 vs the
 * q8 variant `vigil models quantize` writes, side by side in one run: end to end and model only on
 * 32 JPEGs, then embedding cosine and zero-shot top-1 agreement on 256 varied images.
 *
 * tjs — vigil vs transformers.js (@huggingface/transformers, local files only) end to end on the
 * same full-size ViT-B/32 folder, the same JPEGs and threads, at batch 1 and 16 (fp32 and q8),
 * each library's model-only rate (its own session on a ready tensor) and so its time per image
 * outside the model, and the embedding cosine between the two (on resized JPEGs and on images at
 * the input size).
 *
 * memory (only when named: VIGIL_BENCH_VISION=memory) — peak RSS of `vigil embed` (.jsonl) and
 * `vigil classify --json --out` on the tiny test models over 1k and 100k images (hard links to 1k
 * distinct PNGs), to show memory stays flat as results stream out. Goal: growth < 25 MB.
 *
 * Each figure is the median of 3 interleaved rounds (the machine may be shared).
 * Threads: VIGIL_BENCH_THREADS (default: all available cores) for onnxruntime, PyTorch and transformers.js.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { SeededRandom } from '../src/core/random.js';
import { PACKAGE_ROOT } from '../src/core/version.js';
import { cosineSimilarity } from '../src/core/vectors.js';
import { embedImages, embedTexts, loadModel, preprocessImage, type ClipModel } from '../src/vision/index.js';
import { DEFAULT_COMPARE_LABELS } from '../src/vision/compare.js';
import { quantizeOnnxFile } from '../src/vision/quantize.js';

const MODEL_DIR = join(PACKAGE_ROOT, 'bench/models/clip-vit-b32-random');
/** Full-size ViT-B/32 CLIP with random weights in the real architecture (tools/build_real_models.py). */
const REAL_B32 = join(PACKAGE_ROOT, 'bench/models/real/clip-vit-base-patch32');
const PYTHON = '/usr/bin/python3';
const BATCHES = [1, 8, 32];
const MATMUL_SIZE = 2048;
/** Interleaved repetitions of (a), (b), (c) per batch size; the table shows medians. */
const ROUNDS = 3;

interface VisionConfig {
  hidden_size: number;
  num_hidden_layers: number;
  intermediate_size: number;
  patch_size: number;
  image_size: number;
  num_channels?: number;
}

/** Forward FLOPs of one image through a CLIP ViT image tower (2 FLOPs per multiply-add). */
function towerFlops(vision: VisionConfig, projection: number): number {
  const d = vision.hidden_size;
  const patches = (vision.image_size / vision.patch_size) ** 2;
  const tokens = patches + 1;
  const patchEmbed = patches * (vision.num_channels ?? 3) * vision.patch_size ** 2 * d;
  const perLayer = tokens * d * 3 * d + 2 * tokens * tokens * d + tokens * d * d + 2 * tokens * d * vision.intermediate_size;
  return 2 * (patchEmbed + vision.num_hidden_layers * perLayer + d * projection);
}

async function makeJpegs(dir: string, count: number): Promise<string[]> {
  const random = new SeededRandom(0);
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const width = 256 + random.int(160);
    const height = 240 + random.int(160);
    const file = join(dir, `img-${i}.jpg`);
    await sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
      .composite([
        {
          input: Buffer.from(
            `<svg width="${width}" height="${height}"><circle cx="${width / 2}" cy="${height / 2}" r="${height / 3}" fill="rgb(${random.int(255)},${random.int(255)},${random.int(255)})"/></svg>`,
          ),
        },
      ])
      .jpeg({ quality: 90 })
      .toFile(file);
    files.push(file);
  }
  return files;
}

function python(args: string[]): string {
  const result = spawnSync(PYTHON, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${PYTHON} ${args.join(' ')} failed: ${result.stderr || result.error}`);
  return result.stdout;
}

/** VIGIL_BENCH_THREADS, or every available core: the threads of each library measured. */
function benchThreads(): number {
  return Number(process.env.VIGIL_BENCH_THREADS ?? availableParallelism());
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * Sustained fp32 matmul GFLOP/s: an onnxruntime MatMul of an n×n input by an n×n constant (a
 * weight, so onnxruntime pre-packs it as it does the model's), same threads; median of 3 rounds.
 */
async function matmulGflops(dir: string, threads: number): Promise<number> {
  const file = join(dir, 'matmul.onnx');
  python([
    '-c',
    [
      'import sys, numpy as np, onnx, onnx.helper as h, onnx.numpy_helper as nh',
      'n = int(sys.argv[2])',
      "b = nh.from_array(np.random.default_rng(0).standard_normal((n, n), dtype=np.float32), 'B')",
      "io = [h.make_tensor_value_info(x, onnx.TensorProto.FLOAT, [n, n]) for x in 'AC']",
      "g = h.make_graph([h.make_node('MatMul', ['A', 'B'], ['C'])], 'mm', io[:1], io[1:], initializer=[b])",
      "m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)]); m.ir_version = 8",
      'onnx.save(m, sys.argv[1])',
    ].join('\n'),
    file,
    String(MATMUL_SIZE),
  ]);
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const random = new SeededRandom(1);
  const values = Float32Array.from({ length: MATMUL_SIZE * MATMUL_SIZE }, () => random.normal());
  const feeds = { A: new ort.Tensor('float32', values, [MATMUL_SIZE, MATMUL_SIZE]) };
  await session.run(feeds);
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const iterations = 10;
    const seconds = await timed(async () => {
      for (let i = 0; i < iterations; i++) await session.run(feeds);
    });
    rates.push((iterations * 2 * MATMUL_SIZE ** 3) / seconds / 1e9);
  }
  await session.release();
  return median(rates);
}

export async function run(): Promise<void> {
  const parts = (process.env.VIGIL_BENCH_VISION ?? 'torch,q8,tjs').split(',');
  const missing: string[] = [];
  if (parts.includes('torch')) {
    if (existsSync(join(MODEL_DIR, 'onnx/vision_model.onnx')) && existsSync(join(MODEL_DIR, 'torch_state_dict.pt'))) await runTorch();
    else missing.push(`${MODEL_DIR} (build: /usr/bin/python3 tools/train_models.py --only bench-model)`);
  }
  for (const part of ['q8', 'tjs'].filter((p) => parts.includes(p))) {
    if (!existsSync(join(REAL_B32, 'onnx/vision_model.onnx'))) {
      missing.push(`${REAL_B32} (build: /usr/bin/python3 tools/build_real_models.py --models b32)`);
      break;
    }
    await (part === 'q8' ? runQuantized() : runTransformersJs());
  }
  if (parts.includes('memory')) await runMemory();
  if (missing.length > 0) {
    console.error(`Skipped, benchmark models missing (random weights, not committed):\n  ${missing.join('\n  ')}`);
    process.exit(2);
  }
}

async function runTorch(): Promise<void> {
  const threads = benchThreads();
  const config = JSON.parse(readFileSync(join(MODEL_DIR, 'config.json'), 'utf8')) as { vision_config: VisionConfig; projection_dim: number };
  const flopsPerImage = towerFlops(config.vision_config, config.projection_dim);
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-vision-'));
  try {
    const maxImages = Math.max(...BATCHES.map(imagesFor));
    const files = await makeJpegs(work, maxImages);
    const model = await loadModel(MODEL_DIR, { device: 'cpu', intraOpThreads: threads });
    if (model.kind !== 'clip') throw new Error(`${MODEL_DIR} is not a CLIP image tower`);
    const { height, width } = model.preprocessing.inputSize;
    const imageSize = 3 * height * width;

    // The same preprocessed pixels feed (b) and (c).
    const sample = 8;
    const pixels = new Float32Array(sample * imageSize);
    for (let i = 0; i < sample; i++) pixels.set((await preprocessImage(readFileSync(files[i]), model.preprocessing)).data, i * imageSize);
    const pixelsFile = join(work, 'pixels.bin');
    writeFileSync(pixelsFile, Buffer.from(pixels.buffer));

    console.log(
      `model ${MODEL_DIR} (${(flopsPerImage / 1e9).toFixed(2)} GFLOP/image), ${threads} threads, onnxruntime ${ort.env.versions.common}, JPEGs 256-415 px`,
    );
    const rows: { batch: number; a: number; b: number; c: number }[] = [];
    for (const batch of BATCHES) {
      const count = imagesFor(batch);
      const iterations = count / batch;
      const tensorData = new Float32Array(batch * imageSize);
      for (let i = 0; i < batch; i++) tensorData.set(pixels.subarray((i % sample) * imageSize, ((i % sample) + 1) * imageSize), i * imageSize);
      const tensor = new ort.Tensor('float32', tensorData, [batch, 3, height, width]);
      // Warm up sessions, allocator and sharp with one batch first.
      for await (const _ of embedImages(model, files.slice(0, batch), { batchSize: batch, cacheDir: false }));

      // (a), (b) and (c) interleaved, ROUNDS times each; the median of each resists load spikes
      // on a shared machine.
      const samples = { a: [] as number[], b: [] as number[], c: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        let done = 0;
        const aSeconds = await timed(async () => {
          for await (const obs of embedImages(model, files.slice(0, count), { batchSize: batch, cacheDir: false })) {
            if (obs.error !== undefined) throw new Error(obs.error);
            done += 1;
          }
        });
        samples.a.push(done / aSeconds);

        const bSeconds = await timed(async () => {
          for (let i = 0; i < iterations; i++) await model.visionSession.run({ pixel_values: tensor }, ['image_embeds']);
        });
        samples.b.push(count / bSeconds);

        const torch = JSON.parse(
          python([
            join(PACKAGE_ROOT, 'tools/torch_bench.py'),
            '--model-dir',
            MODEL_DIR,
            '--batch',
            String(batch),
            '--iters',
            String(iterations),
            '--threads',
            String(threads),
            '--warmup',
            '1',
            '--input',
            pixelsFile,
          ]),
        ) as { images_per_second: number };
        samples.c.push(torch.images_per_second);
      }
      rows.push({ batch, a: median(samples.a), b: median(samples.b), c: median(samples.c) });
    }
    await model.release();
    const matmul = await matmulGflops(work, threads);

    const header = ['batch', '(a) vigil img/s', '(b) ORT model img/s', '(c) PyTorch img/s', '(a)/(c)', '(a)/(b)', '(a) GFLOP/s', '(a)/matmul'];
    const table = rows.map((r) => [
      String(r.batch),
      r.a.toFixed(2),
      r.b.toFixed(2),
      r.c.toFixed(2),
      (r.a / r.c).toFixed(2),
      (r.a / r.b).toFixed(2),
      ((r.a * flopsPerImage) / 1e9).toFixed(1),
      `${((100 * r.a * flopsPerImage) / 1e9 / matmul).toFixed(0)}%`,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
    console.log(line(header));
    for (const row of table) console.log(line(row));
    console.log(
      `sustained fp32 matmul (onnxruntime MatMul ${MATMUL_SIZE}x${MATMUL_SIZE} by a constant ${MATMUL_SIZE}x${MATMUL_SIZE}, ${threads} threads): ${matmul.toFixed(1)} GFLOP/s`,
    );
    console.log(`medians of ${ROUNDS} interleaved rounds; load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log('goals: (a)/(c) >= 1.3, (a)/(b) >= 0.9');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Images timed per batch size: at least 16 and at least two batches. */
function imagesFor(batch: number): number {
  return Math.max(16, 2 * batch);
}

function printTable(header: string[], table: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
}

async function embedAll(model: ClipModel, files: string[], batch: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for await (const obs of embedImages(model, files, { batchSize: batch, cacheDir: false })) {
    if (obs.error !== undefined) throw new Error(obs.error);
    out.push(obs.embedding);
  }
  return out;
}

async function loadClip(dir: string, dtype: 'fp32' | 'q8', threads: number): Promise<ClipModel> {
  const model = await loadModel(dir, { device: 'cpu', intraOpThreads: threads, dtype });
  if (model.kind !== 'clip') throw new Error(`${dir} is not CLIP`);
  return model;
}

/** Writes the q8 variants with `vigil models quantize`'s code when they are not there yet. */
async function ensureQuantized(dir: string): Promise<void> {
  for (const base of ['vision_model', 'text_model']) {
    const output = join(dir, `onnx/${base}_quantized.onnx`);
    if (!existsSync(output) && existsSync(join(dir, `onnx/${base}.onnx`))) await quantizeOnnxFile(join(dir, `onnx/${base}.onnx`), output);
  }
}

/** Images for the q8 agreement check: enough that 99% means something (one disagreement is 0.4%). */
const AGREEMENT_IMAGES = 256;

/**
 * Varied images at the model's input size (224×224 JPEGs: cheap to decode, no resize): a random
 * background colour and noise level with a circle and a rectangle of random colours, sizes and
 * places, so that embeddings differ from image to image.
 */
async function makeVariedImages(dir: string, count: number): Promise<string[]> {
  const random = new SeededRandom(7);
  const colour = () => `rgb(${random.int(255)},${random.int(255)},${random.int(255)})`;
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const size = 224;
    const file = join(dir, `varied-${i}.jpg`);
    const background = { r: random.int(255), g: random.int(255), b: random.int(255) };
    const noise = { type: 'gaussian' as const, mean: 128, sigma: 10 + random.int(60) };
    const svg =
      `<svg width="${size}" height="${size}"><circle cx="${random.int(size)}" cy="${random.int(size)}" r="${20 + random.int(80)}" fill="${colour()}"/>` +
      `<rect x="${random.int(size)}" y="${random.int(size)}" width="${random.int(120)}" height="${random.int(120)}" fill="${colour()}"/></svg>`;
    await sharp({ create: { width: size, height: size, channels: 3, background, noise } })
      .composite([{ input: Buffer.from(svg) }])
      .jpeg({ quality: 90 })
      .toFile(file);
    files.push(file);
  }
  return files;
}

/** Zero-shot scores (cosine to each label's text embedding) of one image embedding. */
function labelScores(embedding: Float32Array, labels: Float32Array[]): number[] {
  return labels.map((label) => cosineSimilarity(embedding, label));
}

function argmax(values: number[]): number {
  return values.reduce((best, v, i) => (v > values[best] ? i : best), 0);
}

/**
 * q8 vs fp32, full-size ViT-B/32 image tower: speed end to end (JPEG → embedding) and model only,
 * side by side in one run, on 32 JPEGs; agreement (embedding cosine, zero-shot top-1 over 20
 * labels with each dtype's own text tower) on {@link AGREEMENT_IMAGES} varied images.
 */
async function runQuantized(): Promise<void> {
  const threads = benchThreads();
  await ensureQuantized(REAL_B32);
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-q8-'));
  try {
    const batch = 16;
    const count = 32;
    const files = await makeJpegs(work, count);
    const fp32 = await loadClip(REAL_B32, 'fp32', threads);
    const q8 = await loadClip(REAL_B32, 'q8', threads);
    console.log(`\nq8 vs fp32: ${REAL_B32} image tower, batch ${batch}, ${threads} threads; speed on ${count} JPEGs (256-415 px)`);
    await embedAll(fp32, files.slice(0, batch), batch);
    await embedAll(q8, files.slice(0, batch), batch);
    const pixels = new Float32Array(batch * 3 * 224 * 224).map((_, i) => Math.sin(i));
    const tensor = new ort.Tensor('float32', pixels, [batch, 3, 224, 224]);
    const modelOnly = async (model: ClipModel) =>
      count /
      (await timed(async () => {
        for (let i = 0; i < count / batch; i++) await model.visionSession.run({ pixel_values: tensor }, ['image_embeds']);
      }));
    const rates = { fp32: [] as number[], q8: [] as number[], fp32Model: [] as number[], q8Model: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      rates.fp32.push(count / (await timed(async () => void (await embedAll(fp32, files, batch)))));
      rates.q8.push(count / (await timed(async () => void (await embedAll(q8, files, batch)))));
      rates.fp32Model.push(await modelOnly(fp32));
      rates.q8Model.push(await modelOnly(q8));
    }
    const [f, q, fm, qm] = [median(rates.fp32), median(rates.q8), median(rates.fp32Model), median(rates.q8Model)];
    printTable(
      ['dtype', 'img/s end to end', 'vs fp32', 'model-only img/s', 'vs fp32 ', 'file MB'],
      [
        ['fp32', f.toFixed(2), '1.00', fm.toFixed(2), '1.00', (statSync(join(REAL_B32, 'onnx/vision_model.onnx')).size / 1e6).toFixed(0)],
        ['q8', q.toFixed(2), (q / f).toFixed(2), qm.toFixed(2), (qm / fm).toFixed(2), (statSync(join(REAL_B32, 'onnx/vision_model_quantized.onnx')).size / 1e6).toFixed(0)],
      ],
    );
    console.log(`medians of ${ROUNDS} interleaved rounds; load average: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

    const varied = await makeVariedImages(work, AGREEMENT_IMAGES);
    const prompts = DEFAULT_COMPARE_LABELS.map((l) => `a photo of a ${l}.`);
    const [a, b] = [await embedAll(fp32, varied, batch), await embedAll(q8, varied, batch)];
    const [textA, textB] = [await embedTexts(fp32, prompts), await embedTexts(q8, prompts)];
    await fp32.release();
    await q8.release();
    const cosines = a.map((e, i) => cosineSimilarity(e, b[i])).sort((x, y) => x - y);
    let agree = 0;
    let pairs = 0;
    let flipped = 0;
    const topCounts = new Map<number, number>();
    const margins: number[] = [];
    for (let i = 0; i < a.length; i++) {
      const [sa, sb] = [labelScores(a[i], textA), labelScores(b[i], textB)];
      const top = argmax(sa);
      if (top === argmax(sb)) agree += 1;
      topCounts.set(top, (topCounts.get(top) ?? 0) + 1);
      const sorted = [...sa].sort((x, y) => y - x);
      margins.push(sorted[0] - sorted[1]);
      // Every pair of labels whose order q8 reverses: a stricter measure than top-1, which the
      // random weights make easy (most images share one top label).
      for (let x = 0; x < sa.length; x++) {
        for (let y = x + 1; y < sa.length; y++) {
          pairs += 1;
          if (Math.sign(sa[x] - sa[y]) !== Math.sign(sb[x] - sb[y])) flipped += 1;
        }
      }
    }
    margins.sort((x, y) => x - y);
    const largestShare = Math.max(...topCounts.values());
    const at = (sorted: number[], p: number) => sorted[Math.floor(p * (sorted.length - 1))];
    console.log(
      `agreement on ${a.length} varied 224×224 JPEGs: embedding cosine min ${cosines[0].toFixed(5)}, 1st percentile ${at(cosines, 0.01).toFixed(5)}, median ${at(cosines, 0.5).toFixed(5)}; ` +
        `zero-shot top-1 (${DEFAULT_COMPARE_LABELS.length} labels) identical on ${agree}/${a.length} (${((100 * agree) / a.length).toFixed(1)}%); ` +
        `fp32 picks ${topCounts.size} distinct labels, the most common for ${largestShare}/${a.length} images; ` +
        `fp32 top-1 margin median ${at(margins, 0.5).toExponential(2)}, 5th percentile ${at(margins, 0.05).toExponential(2)}; ` +
        `label pairs reordered by q8: ${flipped}/${pairs} (${((100 * flipped) / pairs).toFixed(2)}%)`,
    );
    console.log('goals: q8/fp32 >= 2.0 end to end, cosine >= 0.99, top-1 identical on >= 99%');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** vigil vs transformers.js end to end on the same full-size folder, JPEGs and threads. */
async function runTransformersJs(): Promise<void> {
  const threads = benchThreads();
  await ensureQuantized(REAL_B32);
  const tjs = await import('@huggingface/transformers');
  // Local folders only: nothing may be downloaded.
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = '/';
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-tjs-'));
  try {
    const count = 32;
    const files = await makeJpegs(work, count);
    // Images already at the input size (224×224, no resize, no crop) for the agreement check.
    const exact: string[] = [];
    for (let i = 0; i < 8; i++) {
      const file = join(work, `exact-${i}.png`);
      await sharp(files[i]).resize(224, 224, { fit: 'fill' }).png().toFile(file);
      exact.push(file);
    }
    const processor = await tjs.AutoProcessor.from_pretrained(REAL_B32);
    console.log(`\nvigil vs transformers.js ${tjs.env.version}: ${REAL_B32} image tower end to end (JPEG → embedding), ${count} JPEGs, ${threads} threads`);
    const rows: string[][] = [];
    for (const dtype of ['fp32', 'q8'] as const) {
      const ours = await loadClip(REAL_B32, dtype, threads);
      const theirs = await tjs.CLIPVisionModelWithProjection.from_pretrained(REAL_B32, {
        dtype,
        session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
      });
      const tjsEmbed = async (list: string[], batch: number): Promise<Float32Array[]> => {
        const out: Float32Array[] = [];
        for (let i = 0; i < list.length; i += batch) {
          const images = await Promise.all(list.slice(i, i + batch).map((f) => tjs.RawImage.read(f)));
          const { image_embeds } = (await theirs(await processor(images))) as { image_embeds: { data: Float32Array; dims: number[] } };
          const width = image_embeds.dims[1];
          for (let r = 0; r < images.length; r++) out.push(image_embeds.data.slice(r * width, (r + 1) * width));
        }
        return out;
      };
      for (const batch of [1, 16]) {
        // Model only: each library's own session on the same ready tensor (no decode, no preprocessing).
        const pixels = new Float32Array(batch * 3 * 224 * 224).map((_, i) => Math.sin(i));
        const ourTensor = new ort.Tensor('float32', pixels, [batch, 3, 224, 224]);
        const theirTensor = new tjs.Tensor('float32', pixels, [batch, 3, 224, 224]);
        const modelRuns = count / batch;
        await embedAll(ours, files.slice(0, batch), batch);
        await tjsEmbed(files.slice(0, batch), batch);
        const rates = { vigil: [] as number[], tjs: [] as number[], vigilModel: [] as number[], tjsModel: [] as number[] };
        for (let round = 0; round < ROUNDS; round++) {
          rates.vigil.push(count / (await timed(async () => void (await embedAll(ours, files, batch)))));
          rates.tjs.push(count / (await timed(async () => void (await tjsEmbed(files, batch)))));
          rates.vigilModel.push(
            count /
              (await timed(async () => {
                for (let i = 0; i < modelRuns; i++) await ours.visionSession.run({ pixel_values: ourTensor }, ['image_embeds']);
              })),
          );
          rates.tjsModel.push(
            count /
              (await timed(async () => {
                for (let i = 0; i < modelRuns; i++) await theirs({ pixel_values: theirTensor });
              })),
          );
        }
        const [v, t, vm, tm] = [median(rates.vigil), median(rates.tjs), median(rates.vigilModel), median(rates.tjsModel)];
        // Time per image outside the model run: decode, preprocessing, batching, not hidden by overlap.
        const overhead = (endToEnd: number, model: number) => (1000 / endToEnd - 1000 / model).toFixed(1);
        rows.push([dtype, String(batch), v.toFixed(2), t.toFixed(2), (v / t).toFixed(2), vm.toFixed(2), tm.toFixed(2), overhead(v, vm), overhead(t, tm)]);
      }
      const ourResized = await embedAll(ours, files, 16);
      const theirResized = await tjsEmbed(files, 16);
      const cosResized = ourResized.map((e, i) => cosineSimilarity(e, theirResized[i])).sort((x, y) => x - y);
      const ourExact = await embedAll(ours, exact, 8);
      const theirExact = await tjsEmbed(exact, 8);
      const cosExact = ourExact.map((e, i) => cosineSimilarity(e, theirExact[i])).sort((x, y) => x - y);
      rows.push([
        dtype,
        'cosine',
        `resized JPEGs: min ${cosResized[0].toFixed(5)} median ${cosResized[Math.floor(cosResized.length / 2)].toFixed(5)}`,
        `at input size: min ${cosExact[0].toFixed(6)}`,
        ...Array<string>(5).fill(''),
      ]);
      await ours.release();
      await theirs.dispose();
    }
    printTable(
      ['dtype', 'batch', 'vigil img/s', 'transformers.js img/s', 'vigil/tjs', 'vigil model-only', 'tjs model-only', 'vigil overhead ms/img', 'tjs overhead ms/img'],
      rows,
    );
    console.log(`medians of ${ROUNDS} interleaved rounds; load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log('goals: vigil/tjs >= 1.5 at batch 16 (fp32); cosine >= 0.9999 at the input size');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Peak resident memory (MiB) of a command, sampling /proc/<pid>/status every 50 ms. */
async function peakRss(command: string, args: string[], cwd: string): Promise<{ peakMiB: number; seconds: number; code: number | null }> {
  const { spawn } = await import('node:child_process');
  const start = performance.now();
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: '1' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let peak = 0;
  const sample = () => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
    } catch {
      // The process has exited between samples.
    }
  };
  const timer = setInterval(sample, 50);
  const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
  clearInterval(timer);
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`);
  return { peakMiB: peak, seconds: (performance.now() - start) / 1000, code };
}

async function runMemory(): Promise<void> {
  const { linkSync, mkdirSync } = await import('node:fs');
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-memory-'));
  try {
    const distinct = 1000;
    const copies = 100;
    const source = join(work, 'k1');
    mkdirSync(source);
    const random = new SeededRandom(3);
    for (let i = 0; i < distinct; i++) {
      const pixels = Buffer.from(Array.from({ length: 32 * 32 * 3 }, () => random.int(255)));
      await sharp(pixels, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(join(source, `${String(i).padStart(4, '0')}.png`));
    }
    const many = join(work, 'k100');
    for (let c = 0; c < copies; c++) {
      mkdirSync(join(many, String(c)), { recursive: true });
      for (let i = 0; i < distinct; i++) linkSync(join(source, `${String(i).padStart(4, '0')}.png`), join(many, String(c), `${i}.png`));
    }
    const tiny = join(PACKAGE_ROOT, 'tests/vision/fixtures/models');
    // One node process (no tsx wrapper process), so its RSS is the CLI's.
    const cli = (...args: string[]) => ['--import', 'tsx', join(PACKAGE_ROOT, 'src/cli/main.ts'), ...args];
    const commands: [string, (dir: string) => string[]][] = [
      ['embed → .jsonl', (dir) => cli('embed', dir, '--model', join(tiny, 'clip'), '--out', join(work, 'e.jsonl'), '--no-cache', '--batch-size', '32')],
      ['classify → .json', (dir) => cli('classify', dir, '--model', join(tiny, 'vit'), '--out', join(work, 'c.json'), '--no-cache', '--batch-size', '32')],
    ];
    console.log(`\nmemory: peak RSS of the CLI over ${distinct} and ${distinct * copies} images (tiny test models, 32×32 PNGs, no cache)`);
    const rows: string[][] = [];
    for (const [name, args] of commands) {
      const small = await peakRss(process.execPath, args(source), PACKAGE_ROOT);
      const large = await peakRss(process.execPath, args(many), PACKAGE_ROOT);
      rows.push([
        name,
        small.peakMiB.toFixed(0),
        large.peakMiB.toFixed(0),
        (large.peakMiB - small.peakMiB).toFixed(1),
        ((distinct * copies) / large.seconds).toFixed(0),
      ]);
    }
    printTable(['command', `peak MiB (${distinct})`, `peak MiB (${distinct * copies})`, 'growth MiB', 'img/s (100k)'], rows);
    console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}; goal: growth < 25 MB`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
