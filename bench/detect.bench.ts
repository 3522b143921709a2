/**
 * bench/detect: (a) vigil end to end: image bytes → decode + resize (sharp) → onnxruntime →
 * post-processing, via detectObjects (no cache), batch 8; (b) model only: the same onnxruntime
 * session on pre-made pixel tensors, batch 8; images/s and the ratio (a)/(b) (goal ≥ 0.9), the
 * median of 3 interleaved rounds, for
 *   - the bundled tiny detector (fixtures/detect/models/detector) on the 96×96 planted scenes, and
 *   - bench/models/yolos-s-random (a ViT-S-sized YOLOS, 224×224, random weights; made by
 *     `tools/train_detectors.py --only bench-model`, skipped when absent) on 640×480 JPEGs;
 * then memory over a long stream: RSS after every 1,000 images of VIGIL_BENCH_DETECT_IMAGES
 * (default 10,000) through (a), which must stay flat; and the detection audit's own cost
 * (COCO matching + 1,000 image-bootstrap replicates of recall, AP and FP/image per group).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { auditDetection } from '../src/bias/audits/detection.js';
import type { AuditSettings } from '../src/bias/audits/common.js';
import { PACKAGE_ROOT } from '../src/core/version.js';
import { detectObjects } from '../src/detect/infer.js';
import { loadDenseModel } from '../src/detect/model.js';
import { detectProbeImages } from '../src/detect/probe.js';
import { readCocoInstances } from '../src/probes/coco.js';
import { preprocessImage } from '../src/vision/images.js';

const MODEL = join(PACKAGE_ROOT, 'fixtures/detect/models/detector');
const BENCH_MODEL = join(PACKAGE_ROOT, 'bench/models/yolos-s-random');
const IMAGES = join(PACKAGE_ROOT, 'fixtures/detect/planted/images');
const BATCH = 8;
const ROUNDS = 3;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** (a) and (b) on one model and image set; returns the model, still loaded. */
async function throughput(dir: string, files: string[], bytes: Uint8Array[], what: string) {
  const model = await loadDenseModel(dir);
  const { height, width } = model.preprocessing.inputSize;
  const pixels = await Promise.all(bytes.map((b) => preprocessImage(b, model.preprocessing)));
  const n = files.length;

  const endToEnd = async (): Promise<number> => {
    const start = performance.now();
    let count = 0;
    for await (const obs of detectObjects(model, bytes.map((b, i) => ({ name: files[i], bytes: b })), { cacheDir: false, batchSize: BATCH, threshold: 0.05 })) {
      if ('objects' in obs) count++;
    }
    if (count !== n) throw new Error(`detected ${count} of ${n} images`);
    return n / ((performance.now() - start) / 1000);
  };
  const modelOnly = async (): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < n; i += BATCH) {
      const count = Math.min(BATCH, n - i);
      const data = new Float32Array(count * 3 * height * width);
      for (let j = 0; j < count; j++) data.set(pixels[i + j].data, j * 3 * height * width);
      await model.session.run({ pixel_values: new ort.Tensor('float32', data, [count, 3, height, width]) }, ['logits', 'pred_boxes']);
    }
    return n / ((performance.now() - start) / 1000);
  };
  await endToEnd(); // warm-up
  await modelOnly();
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(await endToEnd());
    b.push(await modelOnly());
  }
  console.log(`${what}: ${n} images → ${height}×${width}, batch ${BATCH}, ${ROUNDS} rounds (medians)`);
  console.log(`  (a) vigil end to end      ${median(a).toFixed(1).padStart(7)} img/s`);
  console.log(`  (b) onnxruntime only      ${median(b).toFixed(1).padStart(7)} img/s`);
  console.log(`  (a)/(b)                   ${(median(a) / median(b)).toFixed(2).padStart(7)}   (goal ≥ 0.90)`);
  return model;
}

export async function run(): Promise<void> {
  if (existsSync(BENCH_MODEL)) {
    const jpegs = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 40 + 8 * i, g: 120, b: 200 - 6 * i }, noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
          .jpeg({ quality: 90 })
          .toBuffer(),
      ),
    );
    const big = await throughput(BENCH_MODEL, jpegs.map((_, i) => `${i}.jpg`), jpegs.map((b) => new Uint8Array(b)), 'yolos-s-random (ViT-S size), 640×480 JPEG');
    await big.release();
  } else console.log(`(skipped the ViT-S-sized detector: ${BENCH_MODEL} is absent; make it with tools/train_detectors.py --only bench-model)`);
  const files = readdirSync(IMAGES).filter((f) => f.endsWith('.png')).sort();
  const bytes = files.map((f) => new Uint8Array(readFileSync(join(IMAGES, f))));
  const model = await throughput(MODEL, files, bytes, 'bundled tiny detector, 96×96 PNG');
  const n = files.length;
  const total = Number(process.env.VIGIL_BENCH_DETECT_IMAGES ?? 10_000);
  const stream = async function* () {
    for (let i = 0; i < total; i++) yield { name: `${i}-${files[i % n]}`, bytes: bytes[i % n] };
  };
  const rss: number[] = [];
  let seen = 0;
  const start = performance.now();
  for await (const obs of detectObjects(model, stream(), { cacheDir: false, batchSize: BATCH, threshold: 0.05 })) {
    if (!('objects' in obs)) throw new Error(`image failed: ${obs.error}`);
    seen++;
    if (seen % 1000 === 0) rss.push(process.memoryUsage().rss / 2 ** 20);
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(`memory over ${total} images (${(total / seconds).toFixed(0)} img/s): RSS MiB after each 1,000: ${rss.map((m) => m.toFixed(0)).join(' ')}`);
  if (rss.length >= 2) console.log(`  growth from the first to the last 1,000: ${(rss[rss.length - 1] - rss[0]).toFixed(0)} MiB`);
  await model.release();

  const groundTruth = await readCocoInstances(join(PACKAGE_ROOT, 'fixtures/detect/planted/instances.json'));
  const observed = await detectProbeImages(groundTruth, MODEL, IMAGES, { cacheDir: false, progress: () => ({ setTotal() {}, increment() {}, stop() {} }), label: 'bench' });
  const settings = { seed: 0, nBoot: 1000, ciLevel: 0.95, minGroupSize: 20, nPermutations: 1000, alpha: 0.05, sensitive: ['skin_tone', 'age_group'], intersections: [['skin_tone', 'age_group']] } as unknown as AuditSettings;
  const auditStart = performance.now();
  auditDetection(observed, { id: 'bench', category: 'person', iou: 0.5, score_threshold: 0.5, max_dets: 100 }, settings);
  console.log(`detection audit, ${groundTruth.annotations.length} persons, ${observed.detections.length} detections, 8 groups, 1,000 image-bootstrap replicates: ${((performance.now() - auditStart) / 1000).toFixed(1)} s`);
}
