import type { Command } from 'commander';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { toCsv, type CsvCell } from '../../core/csv.js';
import { invalidArgument, VigilInputError } from '../../core/errors.js';
import { MAX_CONFIG_BYTES, readInputFile, tempPathFor, trackTempFile } from '../../core/files.js';
import { checkOutputFile } from '../../core/output.js';
import { printable } from '../../core/printable.js';
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

/** A flag's value as a positive integer (digits only), or the invalid-argument error naming the flag. */
export function positiveInteger(flag: string, value: string): number {
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
  return { files, failures: unmatched.map(unmatchedFailure) };
}

function unmatchedFailure(input: string): ImageFailure {
  return { file: input, sha256: null, error: `${input}: no such file, or no image files in that folder or glob` };
}

/**
 * The inputs as a stream of image files, so nothing grows with the number of images: each input
 * that matches nothing is found first (before the model loads) and reported as a skipped image;
 * the files are expanded (duplicates across inputs dropped) as the run reaches them; and the
 * progress bar's total comes from a counting pass that runs only when a bar is shown.
 */
async function streamInputs(paths: string[]): Promise<{ files: () => AsyncIterable<string>; failures: ImageFailure[]; count: () => Promise<number> }> {
  const { imageFilesOf, unmatchedInputs } = await import('../../vision/images.js');
  const failures = (await unmatchedInputs(paths)).map(unmatchedFailure);
  const count = async (): Promise<number> => {
    let total = 0;
    for await (const _ of imageFilesOf(paths)) total += 1;
    return total;
  };
  return { files: () => imageFilesOf(paths), failures, count };
}

function reportSkipped(failure: ImageFailure): void {
  process.stderr.write(`vigil: skipped ${printable(failure.error)}\n`);
}

async function readLabelsFile(path: string): Promise<string[]> {
  const text = (await readInputFile(path, { what: '--labels-file', maxBytes: MAX_CONFIG_BYTES })).toString('utf8');
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

/** A streamed CSV: its header line, written once, then rows alone (toCsv's output less the header). */
function streamedCsv(columns: readonly string[]): { header: string; rows(rows: readonly (readonly CsvCell[])[]): string } {
  const header = toCsv(columns, []);
  return { header, rows: (rows) => toCsv(columns, rows).slice(header.length) };
}

const CLASSIFY_CSV = streamedCsv(['file', 'sha256', 'rank', 'label', 'probability', 'provider', 'cached', 'error']);
/** The .files.csv beside an .npy of embeddings: which file each row is. */
const INDEX_CSV = streamedCsv(['row', 'file', 'sha256']);

/** CSV rows of one image (one per rank; one error row on failure), without the header line. */
function classifyCsvRows(image: ClassifyImageRecord): string {
  const rows: CsvCell[][] = [];
  if (image.error !== null) rows.push([image.file, image.sha256, null, null, null, null, false, image.error]);
  image.top.forEach((entry, rank) => rows.push([image.file, image.sha256, rank + 1, entry.label, entry.probability, image.provider, image.cached, null]));
  return CLASSIFY_CSV.rows(rows);
}

function classifyTextLine(image: ClassifyImageRecord): string {
  return image.error !== null
    ? `${image.file}\tERROR ${image.error}\n`
    : `${image.file}\t${image.top.map((t) => `${t.label} ${t.probability.toFixed(3)}`).join('\t')}\n`;
}

/**
 * JSON.stringify(value, null, 2) indented to sit `spaces` (even) deep inside a document. The value
 * is stringified nested in `spaces / 2` arrays, which indents it, and the brackets are cut off: one
 * string per record instead of a second copy from a replace (classify writes one per image).
 */
function indentJson(value: unknown, spaces: number): string {
  const depth = spaces / 2;
  let nested = value;
  for (let i = 0; i < depth; i++) nested = [nested];
  // Each level adds "[\n" + its indent before the value and "\n" + the outer indent + "]" after it.
  return JSON.stringify(nested, null, 2).slice(2 * depth + depth * (depth + 1), -(2 * depth + depth * (depth - 1)) || undefined);
}

/**
 * Output written piece by piece as results arrive, so memory stays flat however many images run:
 * to stdout, or to a temporary file beside `path` that replaces it only when complete (a failed
 * run leaves nothing half-written). Small writes are buffered; each flush awaits the disk.
 */
class StreamedOutput {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private position = 0;

  private constructor(
    readonly path: string | undefined,
    private readonly temp: string | undefined,
    private readonly handle: FileHandle | undefined,
    /** Stops core's removal of the temp file on exit or interrupt (SIGINT/SIGTERM/SIGHUP). */
    private readonly untrack: () => void = () => undefined,
  ) {}

  static async open(path: string | undefined): Promise<StreamedOutput> {
    if (path === undefined) return new StreamedOutput(undefined, undefined, undefined);
    await mkdir(dirname(resolve(path)), { recursive: true });
    const temp = tempPathFor(resolve(path));
    const untrack = trackTempFile(temp);
    try {
      return new StreamedOutput(path, temp, await open(temp, 'wx'), untrack);
    } catch (error) {
      untrack();
      throw error;
    }
  }

  async write(data: string | Uint8Array): Promise<void> {
    // A string is encoded into a new buffer; bytes are copied (the caller may reuse them).
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= 1 << 16) await this.flush();
  }

  /** Overwrites bytes already written (the .npy header, once the row count is known). */
  async writeAt(position: number, data: Uint8Array): Promise<void> {
    await this.flush();
    if (!this.handle) throw new Error('writeAt needs a file');
    await this.handle.write(data, 0, data.byteLength, position);
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.handle) {
      await this.handle.write(data, 0, data.length, this.position);
      this.position += data.length;
    } else if (!process.stdout.write(data)) {
      await new Promise((done) => process.stdout.once('drain', done));
    }
  }

  /** Finishes: the file is renamed onto its path (stdout is left as written). */
  async commit(): Promise<void> {
    await this.flush();
    if (this.handle && this.temp && this.path) {
      await this.handle.sync();
      await this.handle.close();
      await rename(this.temp, this.path);
      this.untrack();
    }
  }

  /** Gives up: the temporary file is removed and the path keeps what it had. */
  async abort(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    if (this.handle && this.temp) {
      await this.handle.close().catch(() => undefined);
      await rm(this.temp, { force: true });
      this.untrack();
    }
  }
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
          // Labels, tensor names and paths come from the model folder: one printable line each.
          process.stdout.write(`${lines.map(printable).join('\n')}\n`);
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
          if (options.out !== undefined) await checkOutputFile(options.out);
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
          const { files, failures, count } = await streamInputs(paths);
          const { classify, classLabels, loadModel } = await import('../../vision/index.js');
          const model = await loadModel(options.model, loadOptions(options));
          try {
            if (model.kind === 'mae') {
              throw new VigilInputError(`${options.model} is an MAE model; classify needs a ViT classifier or CLIP`, {
                subject: options.model,
              });
            }
            // The library names its parameter `labels`; on the command line it is the flag.
            if (model.kind === 'clip' && labelsOption === undefined) {
              throw invalidArgument('--labels', `candidate labels for CLIP zero-shot classification (e.g. --labels "cat,dog", or --labels-file)`, undefined);
            }
            const classifyOptions = { labels: labelsOption, templates: options.template, top };
            const labels = classLabels(model, classifyOptions);
            const quiet = format !== 'text' && options.out === undefined;
            const progress = createProgress('classify', { quiet, count });
            const summary = { total: 0, classified: 0, failed: 0, cached: 0 };
            const head: Omit<ClassifyResult, 'images' | 'summary'> = {
              ...resultEnvelope('classify'),
              schema: 'vigil/classify',
              model: { ...modelSummary(model, options.model), kind: model.kind },
              labels,
              templates: model.kind === 'clip' ? (options.template ?? [...DEFAULT_TEMPLATES]) : null,
              top: Math.min(top, labels.length),
            };
            // Each image's record goes out as it arrives (a results.json with the same fields and
            // order as one JSON.stringify of the whole ClassifyResult), so memory does not grow.
            const out = await StreamedOutput.open(options.out);
            const emit = async (image: ClassifyImageRecord): Promise<void> => {
              summary.total += 1;
              if (image.error === null) {
                summary.classified += 1;
                if (image.cached) summary.cached += 1;
              } else summary.failed += 1;
              if (format === 'json') await out.write(`${summary.total === 1 ? '\n' : ',\n'}    ${indentJson(image, 4)}`);
              else if (format === 'csv') await out.write(classifyCsvRows(image));
              else await out.write(classifyTextLine(image));
            };
            try {
              if (format === 'json') await out.write(`${JSON.stringify(head, null, 2).slice(0, -2)},\n  "images": [`);
              else if (format === 'csv') await out.write(CLASSIFY_CSV.header);
              for (const failure of failures) {
                reportSkipped(failure);
                await emit({ file: failure.file, sha256: null, provider: null, cached: false, top: [], logits: null, probabilities: null, error: failure.error });
              }
              try {
                for await (const obs of classify(model, files(), { ...classifyOptions, ...runOptions(options, () => progress.increment()) })) {
                  if (obs.error !== undefined) {
                    reportSkipped(obs);
                    await emit({ file: obs.file, sha256: obs.sha256, provider: null, cached: false, top: [], logits: null, probabilities: null, error: obs.error });
                  } else {
                    await emit({
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
              if (format === 'json') await out.write(`${summary.total > 0 ? '\n  ' : ''}],\n  "summary": ${indentJson(summary, 2)}\n}\n`);
              await out.commit();
            } catch (error) {
              await out.abort();
              throw error;
            }
            if (options.out !== undefined) process.stderr.write(`vigil: wrote ${resolve(options.out)}\n`);
            if (summary.total > 0 && summary.classified === 0) {
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
        await checkOutputFile(options.out);
        const { files, failures, count } = await streamInputs(paths);
        failures.forEach(reportSkipped);
        const { embedImages, loadModel } = await import('../../vision/index.js');
        const model = await loadModel(options.model, loadOptions(options));
        try {
          if (model.kind !== 'clip') {
            throw new VigilInputError(`${options.model} is a ${model.kind} model; embed needs a CLIP model (image_embeds)`, {
              subject: options.model,
            });
          }
          const progress = createProgress('embed', { count });
          let failed = failures.length;
          let written = 0;
          let width = 0;
          // Rows go to disk as they arrive; the .npy header (which states the row count) is
          // reserved up front and filled in at the end.
          const out = await StreamedOutput.open(options.out);
          const indexPath = `${options.out.slice(0, -ext.length)}.files.csv`;
          const index = ext === '.npy' ? await StreamedOutput.open(indexPath) : undefined;
          try {
            if (ext === '.npy') {
              await out.write(npyHeader(0, 0));
              await index!.write(INDEX_CSV.header);
            }
            try {
              for await (const obs of embedImages(model, files(), runOptions(options, () => progress.increment()))) {
                if (obs.error !== undefined) {
                  failed += 1;
                  reportSkipped(obs);
                  continue;
                }
                if (written === 0) width = obs.embedding.length;
                else if (obs.embedding.length !== width) throw new Error(`embedding of ${obs.file} has ${obs.embedding.length} values, expected ${width}`);
                if (ext === '.jsonl') {
                  const row = { file: obs.file, sha256: obs.sha256, provider: obs.provider, dtype: model.dtype, embedding: Array.from(obs.embedding) };
                  await out.write(`${JSON.stringify(row)}\n`);
                } else {
                  await out.write(new Uint8Array(obs.embedding.buffer, obs.embedding.byteOffset, obs.embedding.byteLength));
                  await index!.write(INDEX_CSV.rows([[written, obs.file, obs.sha256]]));
                }
                written += 1;
              }
            } finally {
              progress.stop();
            }
            if (written === 0) {
              await out.abort();
              await index?.abort();
              process.stderr.write('vigil: every input failed; nothing written\n');
              return EXIT.inputError;
            }
            if (ext === '.npy') await out.writeAt(0, npyHeader(written, width));
            await out.commit();
            await index?.commit();
          } catch (error) {
            await out.abort();
            await index?.abort();
            throw error;
          }
          if (index) process.stderr.write(`vigil: wrote ${resolve(indexPath)}\n`);
          process.stderr.write(
            `vigil: wrote ${written} embeddings of size ${width} (${model.dtype}) to ${resolve(options.out)}${failed > 0 ? ` (${failed} inputs skipped)` : ''}\n`,
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
  cp -r fixtures/models/clip clip-q8 && vigil models quantize clip-q8
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
              `vigil: wrote ${printable(output)}: ${report.quantized} MatMul/Gemm weights int8, ${report.skipped.length} left float, ` +
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
Exit code 0 when it holds, 1 when it does not or the images cannot tell ("inconclusive": top-1 agreement
is judged by its one-sided 95% lower bound, so at least 299 images, all agreeing, are needed to pass), 2 on bad input.

Examples:
  vigil models compare ~/models/clip-vit-base-patch32 --dtype q8 --images photos/
  vigil models compare clip-q8 --dtype q8 --images fixtures/images/heldout --labels "circle,square,triangle,star" --json`,
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
                // Graph names can come from a vigil-model.json manifest: printable, like any folder data.
                ...summary.graphs.map((g) => `  ${printable(g.file)} vs ${printable(g.reference)}`),
                c === null ? '  embedding cosine: n/a (ViT)' : `  embedding cosine: mean ${c.mean.toFixed(5)}, min ${c.min.toFixed(5)}, 1st percentile ${c.p01.toFixed(5)}`,
                `  logit |difference|: mean ${summary.logitAbsDiff.mean.toFixed(4)}, max ${summary.logitAbsDiff.max.toFixed(4)}`,
                `  top-1 agreement: ${(100 * summary.top1Agreement).toFixed(2)}% (one-sided ${100 * CONTRACT.confidence}% bounds [${(100 * summary.top1Bounds[0]).toFixed(2)}%, ${(100 * summary.top1Bounds[1]).toFixed(2)}%])`,
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

/** Bytes of the .npy header vigil writes: always 128, so it can be rewritten once the row count is known. */
const NPY_HEADER_BYTES = 128;

/** NumPy .npy (format 1.0) header of a little-endian float32 rows × width matrix, padded to 128 bytes. */
export function npyHeader(rows: number, width: number): Buffer {
  // Magic (6) + version (2) + header length (2) + header, ending in \n, padded with spaces.
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${width}), }`;
  const length = NPY_HEADER_BYTES - 10;
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(length, 8);
  return Buffer.concat([prefix, Buffer.from(`${dict.padEnd(length - 1)}\n`, 'latin1')]);
}
