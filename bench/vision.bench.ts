/**
 * bench/vision: images/s of the ViT-B/32-sized CLIP image tower at batch 1, 8 and 32.
 *   (a) vigil end to end: JPEG files → decode + preprocess (sharp) → inference, via embedImages
 *   (b) model only: the same onnxruntime session on a pre-made tensor
 *   (c) PyTorch eager CPU (tools/torch_bench.py) on the same weights and the same preprocessed pixels
 * plus the machine's sustained fp32 matmul rate (an onnxruntime MatMul graph, same threads), and
 * (a)'s model FLOP rate as a fraction of it.
 *
 * Each figure is the median of 3 interleaved rounds (the machine may be shared).
 * Threads: VIGIL_BENCH_THREADS (default: all available cores) for both onnxruntime and PyTorch.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { SeededRandom } from '../src/core/random.js';
import { PACKAGE_ROOT } from '../src/core/version.js';
import { embedImages, loadModel, preprocessImage } from '../src/vision/index.js';

const MODEL_DIR = join(PACKAGE_ROOT, 'bench/models/clip-vit-b32-random');
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
  const onnxFile = join(MODEL_DIR, 'onnx/vision_model.onnx');
  if (!existsSync(onnxFile) || !existsSync(join(MODEL_DIR, 'torch_state_dict.pt'))) {
    console.error(
      `The benchmark model is missing (${MODEL_DIR}). Build it (random weights, not committed) with:\n` +
        `  /usr/bin/python3 tools/train_models.py --only bench-model`,
    );
    process.exit(2);
  }
  const threads = Number(process.env.VIGIL_BENCH_THREADS ?? availableParallelism());
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
