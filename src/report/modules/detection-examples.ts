import { isAbsolute, join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import type { DetectionExamples } from '../../bias/audits/detection.js';
import type { BiasResult } from '../../bias/result.js';
import { confinedPath, resolveRecordedPath, sampleWithinBudget } from '../images.js';
import type { ViewContext } from '../view.js';
import type { ExampleGroup, Examples } from './bias-examples.js';

/**
 * Example misses of the groups a detection verdict flagged: images where a person of the group was
 * missed, drawn server-side with sharp (an SVG overlay composited on the downscaled image) —
 * missed persons of the group red, found ones green, the image's false positives orange, dashed —
 * and embedded as JPEG data URIs within the report's image budget. The boxes come from the
 * results document (the audit records a seeded sample of such images per group); the pixels from
 * the images folder it names.
 */

/** Longest edge of a drawn example: small fixtures are enlarged so the boxes stay legible. */
const EXAMPLE_EDGE = 256;

/** At most this many examples per group, however large the budget. */
const MAX_PER_GROUP = 6;

type Box = [number, number, number, number];

/** A box from results.json (which may have been edited): four finite numbers, or nothing. */
function box(value: unknown): Box | null {
  return Array.isArray(value) && value.length === 4 && value.every((v) => typeof v === 'number' && Number.isFinite(v)) ? (value as Box) : null;
}

/** Draws the boxes (in original-image pixels) on the image, downscaled or enlarged to EXAMPLE_EDGE. */
export async function drawDetections(
  path: string,
  boxes: { missed: unknown[]; found: unknown[]; falsePositives: unknown[] },
): Promise<{ dataUri: string; width: number; height: number } | undefined> {
  try {
    const oriented = await sharp(path, { limitInputPixels: 100_000_000 }).rotate().toBuffer({ resolveWithObject: true });
    const scale = EXAMPLE_EDGE / Math.max(oriented.info.width, oriented.info.height);
    const width = Math.max(1, Math.round(oriented.info.width * scale));
    const height = Math.max(1, Math.round(oriented.info.height * scale));
    const rect = (value: unknown, style: string): string => {
      const b = box(value);
      if (!b) return '';
      const [x, y, w, h] = b.map((v) => Math.round(v * scale * 10) / 10);
      return `<rect x="${x}" y="${y}" width="${Math.max(0, w)}" height="${Math.max(0, h)}" fill="none" ${style}/>`;
    };
    const svg = [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`,
      ...boxes.found.map((b) => rect(b, 'stroke="#1a9850" stroke-width="2"')),
      ...boxes.falsePositives.map((b) => rect(b, 'stroke="#f46d43" stroke-width="2" stroke-dasharray="4 3"')),
      ...boxes.missed.map((b) => rect(b, 'stroke="#d73027" stroke-width="3"')),
      '</svg>',
    ].join('');
    const { data, info } = await sharp(oriented.data)
      .resize(width, height, { fit: 'fill', kernel: scale > 1 ? 'nearest' : 'lanczos3' })
      .flatten({ background: '#ffffff' })
      .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
      .jpeg({ quality: 80, mozjpeg: true })
      .toBuffer({ resolveWithObject: true });
    return { dataUri: `data:image/jpeg;base64,${data.toString('base64')}`, width: info.width, height: info.height };
  } catch {
    return undefined;
  }
}

/** The report's examples for the detection audits' flagged groups (same shape as the photo examples). */
export async function detectionExamples(result: BiasResult, flagged: Map<string, Set<string>>, context: ViewContext): Promise<Examples> {
  if (flagged.size === 0) return { groups: [], omitted: 0 };
  const recorded = result.audits.flatMap((audit) => {
    const examples = (audit as unknown as { examples?: DetectionExamples }).examples;
    return audit.kind === 'detection' && examples && Array.isArray(examples.groups) ? [{ audit: audit.id, examples }] : [];
  });
  const wanted = recorded.flatMap(({ audit, examples }) =>
    examples.groups.filter((g) => flagged.get(g.attribute)?.has(g.group) && Array.isArray(g.images)).map((group) => ({ audit, dir: examples.images_dir, group })),
  );
  if (wanted.length === 0) return { groups: [], omitted: 0, note: 'The detection audits flagged groups, but their results record no images with a missed person of those groups.' };
  const perGroup = Math.max(1, Math.min(MAX_PER_GROUP, Math.floor(context.maxImages / wanted.length)));
  const groups: ExampleGroup[] = [];
  const unavailable = new Set<string>();
  let omitted = 0;
  let budget = context.maxImages;
  for (const { audit, dir, group } of wanted) {
    const root = typeof dir === 'string' ? resolveRecordedPath(dir, context.baseDir) : undefined;
    if (!root) {
      unavailable.add(audit);
      omitted += group.n_images;
      continue;
    }
    const sampled = sampleWithinBudget(group.images, Math.min(perGroup, budget), context.seed);
    omitted += Math.max(0, group.n_images - sampled.items.length);
    budget -= sampled.items.length;
    const images: ExampleGroup['images'] = [];
    for (const image of sampled.items) {
      if (typeof image.file !== 'string') continue;
      const path = resolve(root, image.file);
      // A results document from elsewhere must not reach outside the images folder it names.
      const rel = relative(root, path);
      if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
      const missed = Array.isArray(image.missed) ? image.missed : [];
      const falsePositives = Array.isArray(image.false_positives) ? image.false_positives.map((f) => f?.bbox) : [];
      const confined = confinedPath(join(root, image.file), context.imagesUnder);
      const drawn = confined === undefined ? undefined : await drawDetections(confined, { missed, found: Array.isArray(image.found) ? image.found : [], falsePositives });
      if (!drawn) continue;
      const caption = `${image.file}: ${missed.length} missed (red), ${falsePositives.length} false positive${falsePositives.length === 1 ? '' : 's'} (orange)`;
      images.push({ file: caption, ...drawn });
    }
    if (images.length > 0) groups.push({ attribute: group.attribute, group: group.group, images });
  }
  const note =
    unavailable.size > 0
      ? `Audit(s) ${[...unavailable].join(', ')} recorded no images folder that exists here (detections made elsewhere and no images given), so their misses cannot be drawn.`
      : 'Missed persons of the group are drawn in red, found ones in green, false positives in dashed orange (all at the audit\'s IoU and score threshold).';
  return { groups, omitted, note };
}
