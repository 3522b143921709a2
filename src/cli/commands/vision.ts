import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { toCsv, type CsvCell } from '../../core/csv.js';
import { errorMessage, invalidArgument, VigilInputError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { createProgress } from '../../core/progress.js';
import { resultEnvelope } from '../../core/results.js';
import type { ClassifyImageRecord, ClassifyResult, CompareResult } from '../../vision/result.js';
import { DEFAULT_TEMPLATES, DEFAULT_TOP, DEVICES, type Device, type ImageFailure, type LoadModelOptions, type RunOptions, type VisionModel } from '../../vision/types.js';
import { DTYPE_CHOICES, isDtypeChoice } from '../../vision/dtype.js';
import { action, commaList, EXIT, printJson } from '../run.js';

interface ModelFlags {
  model: string;
  device: string;
  dtype: string;
  threads?: string;
  batchSize: string;
  pixelLimit?: string;
  cache: boolean;
  cacheDir?: string;
}

function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw invalidArgument(flag, 'a positive integer', value);
  return n;
}

function loadOptions(flags: Pick<ModelFlags, 'device' | 'threads' | 'pixelLimit'> & { dtype?: string }): LoadModelOptions {
  if (!(DEVICES as readonly string[]).includes(flags.device)) throw invalidArgument('--device', `one of ${DEVICES.join(', ')}`, flags.device);
  const dtype = flags.dtype ?? 'fp32';
  if (!isDtypeChoice(dtype)) throw invalidArgument('--dtype', `one of ${DTYPE_CHOICES.join(', ')}`, dtype);
  return {
    device: flags.device as Device,
    dtype,
    intraOpThreads: flags.threads === undefined ? undefined : positiveInteger('--threads', flags.threads),
    pixelLimit: flags.pixelLimit === undefined ? undefined : positiveInteger('--pixel-limit', flags.pixelLimit),
  };
}

function runOptions(flags: ModelFlags, onImage: () => void): RunOptions {
  return {
    batchSize: positiveInteger('--batch-size', flags.batchSize),
    cacheDir: flags.cache ? flags.cacheDir : false,
    onImage,
  };
}

/** Options every command that runs a model takes. */
function modelOptions(command: Command): Command {
  return command
    .requiredOption('--model <dir>', 'model folder in the Hugging Face / Optimum ONNX layout')
    .option('--device <device>', `execution provider: ${DEVICES.join(', ')} (auto: GPU if available, else CPU)`, 'cpu')
    .option(
      '--dtype <dtype>',
      `weight variant by transformers.js file name: ${DTYPE_CHOICES.join(', ')} (auto: the fastest one vigil models compare verified)`,
      'fp32',
    )
    .option('--threads <n>', 'onnxruntime intra-op threads (default: one per physical core)')
    .option('--batch-size <n>', 'images per inference batch', '8')
    .option('--pixel-limit <n>', 'reject images with more pixels than this (width × height)')
    .option('--cache-dir <dir>', 'observation cache folder (default: $VIGIL_CACHE_DIR or .vigil-cache)')
    .option('--no-cache', 'neither read nor write the observation cache');
}

/** Expands the inputs and reports each input that matched nothing as a skipped image. */
async function resolveInputs(paths: string[]): Promise<{ files: string[]; failures: ImageFailure[] }> {
  const { listImageFiles } = await import('../../vision/index.js');
  const { files, unmatched } = await listImageFiles(paths);
  const failures = unmatched.map((input) => ({
    file: input,
    sha256: null,
    error: `${input}: no such file, or no image files in that folder or glob`,
  }));
  return { files, failures };
}

function reportSkipped(failure: ImageFailure): void {
  process.stderr.write(`vigil: skipped ${failure.error}\n`);
}

async function readLabelsFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new VigilInputError(`Cannot read --labels-file ${path} (${errorMessage(error)})`, { subject: path });
  }
  const labels = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
  if (labels.length === 0) throw new VigilInputError(`--labels-file ${path} has no labels (expected one per line)`, { subject: path });
  return labels;
}

function modelSummary(model: VisionModel, dir: string) {
  return {
    dir,
    kind: model.kind,
    sha256: model.sha256,
    provider: model.provider,
    dtype: model.dtype,
    graphs: model.graphs.map((g) => ({ file: g.file, dtype: g.dtype })),
  };
}

type ClassifyFormat = 'json' | 'csv' | 'text';

function classifyFormat(options: { json?: boolean; csv?: boolean; out?: string }): ClassifyFormat {
  if (options.json && options.csv) throw invalidArgument('--json/--csv', 'at most one of them', 'both');
  if (options.json) return 'json';
  if (options.csv) return 'csv';
  if (options.out !== undefined) {
    const ext = extname(options.out).toLowerCase();
    if (ext === '.json') return 'json';
    if (ext === '.csv') return 'csv';
    throw invalidArgument('--out', 'a .json or .csv file name (or --json/--csv to choose the format)', options.out);
  }
  return 'text';
}

function classifyCsv(result: ClassifyResult): string {
  const rows: CsvCell[][] = [];
  for (const image of result.images) {
    if (image.error !== null) rows.push([image.file, image.sha256, null, null, null, null, false, image.error]);
    image.top.forEach((entry, rank) =>
      rows.push([image.file, image.sha256, rank + 1, entry.label, entry.probability, image.provider, image.cached, null]),
    );
  }
  return toCsv(['file', 'sha256', 'rank', 'label', 'probability', 'provider', 'cached', 'error'], rows);
}

function classifyText(result: ClassifyResult): string {
  return result.images
    .map((image) =>
      image.error !== null
        ? `${image.file}\tERROR ${image.error}`
        : `${image.file}\t${image.top.map((t) => `${t.label} ${t.probability.toFixed(3)}`).join('\t')}`,
    )
    .join('\n');
}

/** `vigil models info`, `vigil classify`, `vigil embed`. */
export function register(program: Command): void {
  const models = program.command('models').description('Inspect, quantize and compare model folders');
  models
    .command('info')
    .description('Validate a model folder and describe it: kind, inputs/outputs, labels, preprocessing, file hashes, provider')
    .argument('<dir>', 'model folder in the Hugging Face / Optimum ONNX layout')
    .option('--json', 'print the description as JSON')
    .option('--device <device>', `execution provider to try: ${DEVICES.join(', ')}`, 'cpu')
    .option('--dtype <dtype>', `weight variant to load: ${DTYPE_CHOICES.join(', ')}`, 'fp32')
    .addHelpText(
      'after',
      `
Examples:
  vigil models info fixtures/models/clip
  vigil models info ~/models/clip-vit-base-patch32 --dtype q8 --device auto --json`,
    )
    .action(
      action(async (dir: string, options: { json?: boolean; device: string; dtype: string }) => {
        // onnxruntime, sharp and the tokenizer load only when a model is used.
        const { describeModel, loadModel } = await import('../../vision/index.js');
        const { describeDenseFolder } = await import('../../detect/model.js');
        const dense = await describeDenseFolder(dir, loadOptions({ device: options.device }).device ?? 'cpu');
        if (dense) {
          if (options.json) printJson(dense.info);
          else process.stdout.write(dense.text);
          return EXIT.ok;
        }
        const model = await loadModel(dir, loadOptions({ device: options.device, dtype: options.dtype }));
        try {
          const info = describeModel(model);
          if (options.json) {
            printJson(info);
            return EXIT.ok;
          }
          const lines = [
            `${dir}: ${info.kind} (provider ${info.provider}, dtype ${info.dtype}, layout ${info.layout})`,
            `sha256 ${info.sha256}`,
            ...Object.entries(info.variants).map(([base, dtypes]) => `variants of ${base}: ${dtypes.join(', ')}`),
            ...info.graphs.flatMap((g) => [
              `${g.file} (${g.dtype})`,
              ...g.inputs.map((t) => `  in  ${t.name} ${t.type} [${t.shape.join(', ')}]`),
              ...g.outputs.map((t) => `  out ${t.name} ${t.type} [${t.shape.join(', ')}]`),
            ]),
            `input ${info.preprocessing.inputSize.height}x${info.preprocessing.inputSize.width}, resize ${
              info.preprocessing.doResize ? JSON.stringify(info.preprocessing.resize) : 'off'
            } (${info.preprocessing.kernel}), center crop ${info.preprocessing.doCenterCrop ? 'on' : 'off'}, mean [${info.preprocessing.imageMean.join(', ')}], std [${info.preprocessing.imageStd.join(', ')}]`,
            ...Object.entries(info.details).map(([k, v]) => `${k} ${v}`),
            ...(info.labels ? [`labels (${info.labels.length}): ${info.labels.join(', ')}`] : []),
            'files:',
            ...info.files.map((f) => `  ${f.sha256}  ${f.bytes.toString().padStart(10)}  ${f.path}`),
          ];
          process.stdout.write(`${lines.join('\n')}\n`);
          return EXIT.ok;
        } finally {
          await model.release();
        }
      }),
    );

  modelOptions(
    program
      .command('classify')
      .description('Classify images with a ViT classifier, or zero-shot with CLIP over the given labels')
      .argument('<paths...>', 'image files, folders (searched recursively) or globs'),
  )
    .option('--labels <list>', 'comma-separated labels (CLIP: the candidates; ViT: a subset of its labels)')
    .option('--labels-file <file>', 'labels, one per line')
    .option(
      '--template <text>',
      `CLIP prompt template containing {label}; repeat to ensemble (default "${DEFAULT_TEMPLATES[0]}")`,
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--top <k>', 'labels listed per image', String(DEFAULT_TOP))
    .option('--json', 'print the results document as JSON')
    .option('--csv', 'print one CSV row per image and rank')
    .option('--out <file>', 'write the results to a file (.json or .csv) instead of stdout')
    .addHelpText(
      'after',
      `
Exit code 0 when at least one image was classified, 2 when every input failed.

Examples:
  vigil classify fixtures/images/heldout --model fixtures/models/vit --top 1
  vigil classify 'photos/**/*.jpg' --model clip-vit-base-patch32 --labels "cat,dog" --json
  vigil classify photos --model clip --labels-file labels.txt --template "a photo of a {label}." --template "a drawing of a {label}." --out results.csv`,
    )
    .action(
      action(
        async (
          paths: string[],
          options: ModelFlags & { labels?: string; labelsFile?: string; template?: string[]; top: string; json?: boolean; csv?: boolean; out?: string },
        ) => {
          const format = classifyFormat(options);
          if (options.labels !== undefined && options.labelsFile !== undefined) {
            throw invalidArgument('--labels/--labels-file', 'at most one of them', 'both');
          }
          const labelsOption =
            options.labels !== undefined
              ? commaList(options.labels)
              : options.labelsFile !== undefined
                ? await readLabelsFile(options.labelsFile)
                : undefined;
          const top = positiveInteger('--top', options.top);
          const { files, failures } = await resolveInputs(paths);
          const { classify, classLabels, loadModel } = await import('../../vision/index.js');
          const model = await loadModel(options.model, loadOptions(options));
          try {
            if (model.kind === 'mae') {
              throw new VigilInputError(`${options.model} is an MAE model; classify needs a ViT classifier or CLIP`, {
                subject: options.model,
              });
            }
            const classifyOptions = { labels: labelsOption, templates: options.template, top };
            const labels = classLabels(model, classifyOptions);
            const quiet = format !== 'text' && options.out === undefined;
            const progress = createProgress('classify', { quiet, total: files.length });
            const images: ClassifyImageRecord[] = failures.map((f) => ({
              file: f.file,
              sha256: null,
              provider: null,
              cached: false,
              top: [],
              logits: null,
              probabilities: null,
              error: f.error,
            }));
            failures.forEach(reportSkipped);
            try {
              for await (const obs of classify(model, files, { ...classifyOptions, ...runOptions(options, () => progress.increment()) })) {
                if (obs.error !== undefined) {
                  reportSkipped(obs);
                  images.push({ file: obs.file, sha256: obs.sha256, provider: null, cached: false, top: [], logits: null, probabilities: null, error: obs.error });
                } else {
                  images.push({
                    file: obs.file,
                    sha256: obs.sha256,
                    provider: obs.provider,
                    cached: obs.cached,
                    top: obs.top.map(({ label, probability }) => ({ label, probability })),
                    logits: obs.logits,
                    probabilities: obs.probabilities,
                    error: null,
                  });
                }
              }
            } finally {
              progress.stop();
            }
            const classified = images.filter((i) => i.error === null);
            const result: ClassifyResult = {
              ...resultEnvelope('classify'),
              schema: 'vigil/classify',
              model: { ...modelSummary(model, options.model), kind: model.kind },
              labels,
              templates: model.kind === 'clip' ? (options.template ?? [...DEFAULT_TEMPLATES]) : null,
              top: Math.min(top, labels.length),
              images,
              summary: {
                total: images.length,
                classified: classified.length,
                failed: images.length - classified.length,
                cached: classified.filter((i) => i.cached).length,
              },
            };
            const body =
              format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : format === 'csv' ? classifyCsv(result) : `${classifyText(result)}\n`;
            if (options.out !== undefined) {
              await writeFileAtomic(options.out, body);
              process.stderr.write(`vigil: wrote ${resolve(options.out)}\n`);
            } else {
              process.stdout.write(body);
            }
            if (images.length > 0 && classified.length === 0) {
              process.stderr.write('vigil: every input failed\n');
              return EXIT.inputError;
            }
            return EXIT.ok;
          } finally {
            await model.release();
          }
        },
      ),
    );

  modelOptions(
    program
      .command('embed')
      .description('Write CLIP image embeddings (L2-normalised) to a .jsonl or .npy file')
      .argument('<paths...>', 'image files, folders (searched recursively) or globs'),
  )
    .requiredOption('--out <file>', 'embeddings.jsonl (one {file, sha256, provider, embedding} per line) or embeddings.npy')
    .addHelpText(
      'after',
      `
A .npy file holds a float32 matrix (one row per embedded image); its rows are listed, in order,
in <name>.files.csv next to it (row, file, sha256). Images that fail are reported and left out.

Examples:
  vigil embed fixtures/images/heldout --model fixtures/models/clip --out embeddings.jsonl
  vigil embed 'photos/*.jpg' --model clip-vit-base-patch32 --out photos.npy --device auto`,
    )
    .action(
      action(async (paths: string[], options: ModelFlags & { out: string }) => {
        const ext = extname(options.out).toLowerCase();
        if (ext !== '.jsonl' && ext !== '.npy') throw invalidArgument('--out', 'a file name ending in .jsonl or .npy', options.out);
        const { files, failures } = await resolveInputs(paths);
        failures.forEach(reportSkipped);
        const { embedImages, loadModel } = await import('../../vision/index.js');
        const model = await loadModel(options.model, loadOptions(options));
        try {
          if (model.kind !== 'clip') {
            throw new VigilInputError(`${options.model} is a ${model.kind} model; embed needs a CLIP model (image_embeds)`, {
              subject: options.model,
            });
          }
          const progress = createProgress('embed', { total: files.length });
          const rows: { file: string; sha256: string; provider: string; embedding: Float32Array }[] = [];
          let failed = failures.length;
          try {
            for await (const obs of embedImages(model, files, runOptions(options, () => progress.increment()))) {
              if (obs.error !== undefined) {
                failed += 1;
                reportSkipped(obs);
              } else {
                rows.push({ file: obs.file, sha256: obs.sha256, provider: obs.provider, embedding: obs.embedding });
              }
            }
          } finally {
            progress.stop();
          }
          if (rows.length === 0) {
            process.stderr.write('vigil: every input failed; nothing written\n');
            return EXIT.inputError;
          }
          if (ext === '.jsonl') {
            const lines = rows.map((r) => JSON.stringify({ ...r, embedding: Array.from(r.embedding) }));
            await writeFileAtomic(options.out, `${lines.join('\n')}\n`);
          } else {
            const indexPath = `${options.out.slice(0, -ext.length)}.files.csv`;
            await writeFileAtomic(options.out, npyFloat32Matrix(rows.map((r) => r.embedding)));
            await writeFileAtomic(indexPath, toCsv(['row', 'file', 'sha256'], rows.map((r, i) => [i, r.file, r.sha256])));
            process.stderr.write(`vigil: wrote ${resolve(indexPath)}\n`);
          }
          process.stderr.write(
            `vigil: wrote ${rows.length} embeddings of size ${rows[0].embedding.length} to ${resolve(options.out)}${failed > 0 ? ` (${failed} inputs skipped)` : ''}\n`,
          );
          return EXIT.ok;
        } finally {
          await model.release();
        }
      }),
    );

  models
    .command('quantize')
    .description('Write int8 (q8) variants of a model folder\'s fp32 graphs beside them: *_quantized.onnx, dynamic int8 MatMul/Gemm weights')
    .argument('<dir>', 'model folder (Hugging Face / transformers.js, open_clip, or vigil-model.json layout)')
    .option('--dtype <dtype>', 'variant to write (only q8: dynamic int8, the transformers.js "quantized" files)', 'q8')
    .option('--per-tensor', 'one scale per weight matrix instead of one per output column')
    .option('--json', 'print what was written as JSON')
    .addHelpText(
      'after',
      `
Then check it on your own images before trusting it (and let --dtype auto use it):
  vigil models compare <dir> --dtype q8 --images photos/

Examples:
  vigil models quantize tests/vision/fixtures/models/clip-variants
  vigil models quantize ~/models/clip-vit-base-patch32 --per-tensor --json`,
    )
    .action(
      action(async (dir: string, options: { dtype: string; perTensor?: boolean; json?: boolean }) => {
        if (options.dtype !== 'q8') {
          throw invalidArgument('--dtype', 'q8 (vigil writes dynamic int8; fp16, q4 and other variants come from their converters)', options.dtype);
        }
        const { fp32GraphBases } = await import('../../vision/model.js');
        const { quantizeOnnxFile } = await import('../../vision/quantize.js');
        const { variantFile } = await import('../../vision/dtype.js');
        const bases = await fp32GraphBases(dir);
        if (bases.length === 0) {
          throw new VigilInputError(`Model folder ${dir}: no fp32 graph to quantize (expected onnx/model.onnx, onnx/vision_model.onnx, visual.onnx, ...)`, {
            subject: dir,
          });
        }
        const written = [];
        for (const base of bases) {
          const input = join(dir, variantFile(base, 'fp32'));
          const output = join(dir, variantFile(base, 'q8'));
          const report = await quantizeOnnxFile(input, output, { perChannel: !options.perTensor });
          written.push({ input, output, ...report });
          if (!options.json) {
            process.stderr.write(
              `vigil: wrote ${output}: ${report.quantized} MatMul/Gemm weights int8, ${report.skipped.length} left float, ` +
                `${(report.bytesIn / 1e6).toFixed(1)} MB -> ${(report.bytesOut / 1e6).toFixed(1)} MB\n`,
            );
          }
        }
        if (options.json) printJson({ dtype: 'q8', perChannel: !options.perTensor, graphs: written });
        return EXIT.ok;
      }),
    );

  models
    .command('compare')
    .description('Measure a variant (q8, fp16, ...) against fp32 on your images: embedding cosine, logits, top-1 agreement; records the verdict for --dtype auto')
    .argument('<dir>', 'model folder holding the fp32 graphs and the variant')
    .requiredOption('--dtype <dtype>', `variant to compare with fp32: ${DTYPE_CHOICES.filter((d) => d !== 'fp32' && d !== 'auto').join(', ')}`)
    .requiredOption('--images <paths...>', 'image files, folders (searched recursively) or globs')
    .option('--labels <list>', 'zero-shot labels for CLIP top-1 agreement (default: 20 common photo subjects)')
    .option('--device <device>', `execution provider: ${DEVICES.join(', ')}`, 'cpu')
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .option('--batch-size <n>', 'images per inference batch', '8')
    .option('--no-record', 'do not update vigil-compare.json in the model folder')
    .option('--json', 'print the comparison as JSON')
    .addHelpText(
      'after',
      `
Contract: mean embedding cosine >= 0.99 and top-1 agreement >= 99% over at least 20 images.
Exit code 0 when it holds, 1 when it does not, 2 on bad input; fewer than 20 images is "inconclusive" (exit 1).

Examples:
  vigil models compare ~/models/clip-vit-base-patch32 --dtype q8 --images photos/
  vigil models compare tests/vision/fixtures/models/clip-variants --dtype fp16 --images fixtures/images/heldout --json`,
    )
    .action(
      action(
        async (
          dir: string,
          options: { dtype: string; images: string[]; labels?: string; device: string; threads?: string; batchSize: string; record: boolean; json?: boolean },
        ) => {
          if (!isDtypeChoice(options.dtype) || options.dtype === 'fp32' || options.dtype === 'auto') {
            throw invalidArgument('--dtype', 'a variant other than fp32 and auto (fp32 is the reference)', options.dtype);
          }
          const { compareVariant, CONTRACT } = await import('../../vision/compare.js');
          const { files, failures } = await resolveInputs(options.images);
          failures.forEach(reportSkipped);
          const load = loadOptions({ device: options.device, threads: options.threads });
          const summary = await compareVariant(dir, options.dtype, files, {
            device: load.device,
            intraOpThreads: load.intraOpThreads,
            labels: options.labels === undefined ? undefined : commaList(options.labels),
            batchSize: positiveInteger('--batch-size', options.batchSize),
            record: options.record,
          });
          const result: CompareResult = { ...resultEnvelope('compare'), schema: 'vigil/compare', contract: { ...CONTRACT }, comparison: summary };
          if (options.json) printJson(result);
          else {
            const c = summary.cosine;
            process.stdout.write(
              [
                `${summary.dtype} vs fp32 on ${summary.images} images (${summary.failed} failed): ${summary.verdict.toUpperCase()}`,
                ...summary.graphs.map((g) => `  ${g.file} vs ${g.reference}`),
                c === null ? '  embedding cosine: n/a (ViT)' : `  embedding cosine: mean ${c.mean.toFixed(5)}, min ${c.min.toFixed(5)}, 1st percentile ${c.p01.toFixed(5)}`,
                `  logit |difference|: mean ${summary.logitAbsDiff.mean.toFixed(4)}, max ${summary.logitAbsDiff.max.toFixed(4)}`,
                `  top-1 agreement: ${(100 * summary.top1Agreement).toFixed(2)}%`,
                `  time: fp32 ${summary.seconds.fp32.toFixed(2)} s, ${summary.dtype} ${summary.seconds.variant.toFixed(2)} s (one run; see bench/vision for throughput)`,
                ...summary.reasons.map((r) => `  ${r}`),
              ].join('\n') + '\n',
            );
          }
          return summary.verdict === 'passed' ? EXIT.ok : EXIT.verdictFail;
        },
      ),
    );
}

/** NumPy .npy (format 1.0) of a little-endian float32 matrix, one row per vector. */
export function npyFloat32Matrix(rows: readonly Float32Array[]): Buffer {
  const width = rows[0]?.length ?? 0;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${width}), }`;
  // Magic (6) + version (2) + header length (2) + header must be a multiple of 64, ending in \n.
  const unpadded = 10 + header.length + 1;
  header = `${header}${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(rows.length * width * 4);
  rows.forEach((row, i) => {
    if (row.length !== width) throw new Error(`embedding ${i} has ${row.length} values, expected ${width}`);
    Buffer.from(row.buffer, row.byteOffset, row.byteLength).copy(body, i * width * 4);
  });
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]);
}
