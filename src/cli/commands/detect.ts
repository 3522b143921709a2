import type { Command } from 'commander';
import { basename, extname, join, resolve } from 'node:path';
import { toCsv, type CsvCell } from '../../core/csv.js';
import { invalidArgument } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/files.js';
import { checkOutputFolder } from '../../core/output.js';
import { printable } from '../../core/printable.js';
import { createProgress } from '../../core/progress.js';
import { resultEnvelope } from '../../core/results.js';
import { DEVICES, type Device, type ImageFailure } from '../../vision/types.js';
import { action, EXIT, printJson } from '../run.js';
import { positiveInteger } from './vision.js';

interface Flags {
  model: string;
  device: string;
  batchSize: string;
  cache: boolean;
  cacheDir?: string;
  json?: boolean;
  csv?: boolean;
}

function withModelOptions(command: Command): Command {
  return command
    .argument('<paths...>', 'image files, folders (searched recursively) or globs')
    .requiredOption('--model <dir>', 'model folder in the Hugging Face / Optimum ONNX layout')
    .option('--device <device>', `execution provider: ${DEVICES.join(', ')}`, 'cpu')
    .option('--batch-size <n>', 'images per inference batch', '8')
    .option('--cache-dir <dir>', 'observation cache folder (default: $VIGIL_CACHE_DIR or .vigil-cache)')
    .option('--no-cache', 'neither read nor write the observation cache')
    .option('--json', 'print the results document as JSON');
}

async function prepare(paths: string[], flags: Flags, kind: 'detection' | 'segmentation') {
  if (!(DEVICES as readonly string[]).includes(flags.device)) throw invalidArgument('--device', `one of ${DEVICES.join(', ')}`, flags.device);
  const batchSize = positiveInteger('--batch-size', flags.batchSize);
  const { listImageFiles } = await import('../../vision/images.js');
  const { files, unmatched } = await listImageFiles(paths);
  const skipped: ImageFailure[] = unmatched.map((input) => ({ file: input, sha256: null, error: `${input}: no such file, or no image files in that folder or glob` }));
  const { loadDenseModel } = await import('../../detect/model.js');
  const model = await loadDenseModel(flags.model, { device: flags.device as Device, expected: kind });
  const progress = createProgress(kind === 'detection' ? 'Detecting' : 'Segmenting', { quiet: Boolean(flags.json || flags.csv), total: files.length });
  return { files, skipped, model, progress, run: { batchSize, cacheDir: flags.cache ? flags.cacheDir : (false as const), onImage: () => progress.increment() } };
}

/** `vigil detect`, `vigil segment`. */
export function register(program: Command): void {
  withModelOptions(program.command('detect').description('Detect objects with a DETR/YOLOS-style detector (boxes in pixels of each original image)'))
    .option('--threshold <score>', 'keep objects scoring above this (transformers\' default)', '0.5')
    .option('--csv', 'print one CSV row per object')
    .option('--coco <annotations>', 'print COCO results (image_id, file_name, category_id, bbox [x, y, w, h], score) for the images and categories of this ground truth (COCO instances JSON or FACET CSV), for `vigil bias --detections`')
    .addHelpText(
      'after',
      `
Exit code 0 when at least one image was processed, 2 when every input failed.

Examples:
  vigil detect fixtures/detect/planted/images --model fixtures/detect/models/detector --threshold 0.5
  vigil detect photos --model detr-resnet-50-onnx --json > detections.json`,
    )
    .action(
      action(async (paths: string[], flags: Flags & { threshold: string; coco?: string }) => {
        if ([flags.json, flags.csv, flags.coco !== undefined].filter(Boolean).length > 1) throw invalidArgument('--json/--csv/--coco', 'at most one of them', 'several');
        const { readAnnotations } = await import('../../probes/facet.js');
        const gt = flags.coco === undefined ? null : await readAnnotations(flags.coco, { required: [] });
        const threshold = Number(flags.threshold);
        if (flags.threshold.trim() === '' || !(threshold >= 0 && threshold <= 1)) throw invalidArgument('--threshold', 'a score between 0 and 1', flags.threshold);
        const { files, skipped, model, progress, run } = await prepare(paths, flags, 'detection');
        const { detectObjects } = await import('../../detect/infer.js');
        const images: Record<string, unknown>[] = skipped.map((s) => ({ file: s.file, sha256: null, error: s.error, objects: [] }));
        let processed = 0;
        try {
          for await (const obs of detectObjects(model, files, { ...run, threshold })) {
            if ('error' in obs && obs.error !== undefined) images.push({ file: obs.file, sha256: obs.sha256, error: obs.error, objects: [] });
            else if ('objects' in obs) {
              processed++;
              images.push({ file: obs.file, sha256: obs.sha256, width: obs.width, height: obs.height, provider: obs.provider, cached: obs.cached, error: null, objects: obs.objects });
            }
          }
        } finally {
          progress.stop();
          await model.release();
        }
        const document = {
          // The envelope of every vigil results document, with this command's schema name.
          ...resultEnvelope('classify'),
          schema: 'vigil/detect',
          model: { dir: model.dir, kind: model.kind, architecture: model.architecture, sha256: model.sha256, provider: model.provider },
          threshold,
          images,
        };
        type Row = { file: string; sha256: string | null; error: string | null; objects: { label: string; score: number; box: Record<string, number> }[] };
        const rows = images as unknown as Row[];
        if (gt) {
          // Images are matched to the ground truth by file_name (the end of the path), labels to categories by name.
          const category = new Map(gt.categories.map((c) => [c.name, c.id]));
          const imageOf = (file: string) => gt.images.find((i) => file === i.file_name || file.replace(/\\/g, '/').endsWith(`/${i.file_name}`));
          const results: { image_id: number; file_name: string; category_id: number; bbox: number[]; score: number }[] = [];
          let unmatched = 0;
          for (const image of rows) {
            const found = image.error === null ? imageOf(image.file) : undefined;
            if (image.error === null && !found) unmatched++;
            for (const o of found ? image.objects : []) {
              const id = category.get(o.label);
              if (id !== undefined) results.push({ image_id: found!.id, file_name: found!.file_name, category_id: id, bbox: [o.box.xmin, o.box.ymin, o.box.xmax - o.box.xmin, o.box.ymax - o.box.ymin], score: o.score });
            }
          }
          if (unmatched > 0) process.stderr.write(`vigil: ${unmatched} image(s) are not in ${printable(flags.coco)} and were left out\n`);
          printJson(results);
        } else if (flags.json) printJson(document);
        else if (flags.csv) {
          const cells: CsvCell[][] = rows.flatMap((image) =>
            image.error !== null
              ? [[image.file, image.sha256, null, null, null, null, null, null, image.error]]
              : image.objects.map((o) => [image.file, image.sha256, o.label, o.score, o.box.xmin, o.box.ymin, o.box.xmax, o.box.ymax, null]),
          );
          process.stdout.write(toCsv(['file', 'sha256', 'label', 'score', 'xmin', 'ymin', 'xmax', 'ymax', 'error'], cells));
        } else {
          const lines = rows.map((image) =>
            image.error !== null
              ? `${printable(image.file)}\tERROR ${printable(image.error)}`
              : `${printable(image.file)}\t${image.objects.length === 0 ? '(none)' : image.objects.map((o) => `${printable(o.label)} ${o.score.toFixed(3)} [${[o.box.xmin, o.box.ymin, o.box.xmax, o.box.ymax].map((v) => v.toFixed(1)).join(', ')}]`).join('\t')}`,
          );
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        return processed > 0 ? EXIT.ok : EXIT.inputError;
      }),
    );

  withModelOptions(program.command('segment').description('Semantic segmentation with a Segformer/DPT-style model: a class per pixel at each image\'s original size'))
    .option('--out <dir>', 'write one PNG label mask per image (pixel value = class index) into this folder')
    .addHelpText(
      'after',
      `
Prints each image's class shares (or --json). Exit code 0 when at least one image was processed, 2 when every input failed.

Examples:
  vigil segment fixtures/detect/planted/images --model fixtures/detect/models/segmenter --out masks/
  vigil segment photo.jpg --model segformer-b0-onnx --json`,
    )
    .action(
      action(async (paths: string[], flags: Flags & { out?: string }) => {
        // --out is checked (and made) before the model loads or any image is read.
        if (flags.out !== undefined) await checkOutputFolder(flags.out);
        const { files, skipped, model, progress, run } = await prepare(paths, flags, 'segmentation');
        const { segmentImages } = await import('../../detect/infer.js');
        const sharp = (await import('sharp')).default;
        const images: { file: string; sha256: string | null; error: string | null; width?: number; height?: number; mask?: string; shares?: Record<string, number> }[] = skipped.map((s) => ({ file: s.file, sha256: null, error: s.error }));
        const used = new Set<string>();
        let processed = 0;
        try {
          for await (const obs of segmentImages(model, files, run)) {
            if ('error' in obs && obs.error !== undefined) {
              images.push({ file: obs.file, sha256: obs.sha256, error: obs.error });
              continue;
            }
            if (!('labels' in obs)) continue;
            processed++;
            const total = obs.width * obs.height;
            const shares = Object.fromEntries(model.labels.map((label, c) => [label, obs.pixels[c] / total]));
            let mask: string | undefined;
            if (flags.out !== undefined) {
              // One PNG per image, named after it; a repeated name gets the image's sha256 prefix.
              let name = `${basename(obs.file, extname(obs.file))}.png`;
              if (used.has(name)) name = `${basename(obs.file, extname(obs.file))}-${obs.sha256.slice(0, 12)}.png`;
              used.add(name);
              mask = join(flags.out, name);
              const png = await sharp(Buffer.from(obs.labels), { raw: { width: obs.width, height: obs.height, channels: 1 } }).png().toBuffer();
              await writeFileAtomic(resolve(mask), png);
            }
            images.push({ file: obs.file, sha256: obs.sha256, error: null, width: obs.width, height: obs.height, shares, ...(mask ? { mask } : {}) });
          }
        } finally {
          progress.stop();
          await model.release();
        }
        if (flags.json) {
          printJson({ ...resultEnvelope('classify'), schema: 'vigil/segment', model: { dir: model.dir, kind: model.kind, architecture: model.architecture, sha256: model.sha256, provider: model.provider }, labels: model.labels, images });
        } else {
          const lines = images.map((image) =>
            image.error !== null
              ? `${printable(image.file)}\tERROR ${printable(image.error)}`
              : `${printable(image.file)}\t${Object.entries(image.shares ?? {}).map(([label, share]) => `${printable(label)} ${(100 * share).toFixed(1)}%`).join('\t')}${image.mask ? `\t-> ${printable(image.mask)}` : ''}`,
          );
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        return processed > 0 ? EXIT.ok : EXIT.inputError;
      }),
    );
}
