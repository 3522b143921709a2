/**
 * COCO instances (ground truth: images, categories, annotations with boxes, polygon or RLE masks
 * and per-annotation `attributes`) and COCO results (detections: image_id, category_id, bbox,
 * score, optional mask) read strictly: every problem is listed with the file, the JSON path and
 * what was expected and received, and a file with any problem is rejected as a whole (a dropped
 * ground-truth box would turn a correct detection into a false positive).
 */
import { describeValue, errorMessage, VigilInputError } from '../core/errors.js';
import { MAX_DOCUMENT_BYTES, readInputFile, sha256Hex } from '../core/files.js';
import type { Box, Detection, GroundTruth } from '../bias/metrics/coco.js';
import { countsFromString, decodeCounts, maskArea, polygonsToMask, type BinaryMask } from '../bias/metrics/masks.js';

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

/** A ground-truth annotation with its sensitive attributes (strings). */
export interface AnnotatedInstance extends GroundTruth {
  attributes: Record<string, string>;
  /**
   * FACET vote attributes: every value any annotator chose (skin tone: every Monk bin with a vote),
   * sorted; ["na"] when nobody chose one. For the "any annotator" membership.
   */
  memberships?: Record<string, string[]>;
}

export interface CocoGroundTruth {
  path: string;
  sha256: string;
  format: 'coco' | 'facet';
  images: CocoImage[];
  categories: { id: number; name: string }[];
  annotations: AnnotatedInstance[];
}

export interface CocoDetections {
  path: string;
  sha256: string;
  detections: Detection[];
}

/** The most problems an error message lists (the count of the rest is given). */
const SHOWN_PROBLEMS = 20;

/** Collects problems as "path: expected X but received Y". */
export class Problems {
  readonly list: string[] = [];
  add(path: string, expected: string, received: unknown): void {
    this.list.push(`${path}: expected ${expected} but received ${describeValue(received)}`);
  }
  note(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
  /** Throws one error naming the file and listing the problems. */
  throwIfAny(file: string, what: string): void {
    if (this.list.length === 0) return;
    const shown = this.list.slice(0, SHOWN_PROBLEMS).map((p) => `  ${p}`);
    if (this.list.length > SHOWN_PROBLEMS) shown.push(`  ... and ${this.list.length - SHOWN_PROBLEMS} more`);
    throw new VigilInputError(`${file} is not a valid ${what} (${this.list.length} problem${this.list.length === 1 ? '' : 's'}):\n${shown.join('\n')}`, { subject: file });
  }
}

export async function readJsonFile(path: string, what: string): Promise<{ value: unknown; sha256: string }> {
  const bytes = await readInputFile(path, { what, maxBytes: MAX_DOCUMENT_BYTES });
  try {
    return { value: JSON.parse(bytes.toString('utf8')), sha256: sha256Hex(bytes) };
  } catch (error) {
    throw new VigilInputError(`${what} ${path} is not valid JSON: ${errorMessage(error)}`, { subject: path });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A bbox [x, y, w, h] of finite numbers with w, h >= 0, or null after recording the problem. */
export function checkBox(value: unknown, path: string, problems: Problems): Box | null {
  if (!Array.isArray(value) || value.length !== 4 || !value.every(isFinite) || value[2] < 0 || value[3] < 0) {
    problems.add(path, '[x, y, width, height] (4 finite numbers, width and height >= 0)', value);
    return null;
  }
  return [value[0], value[1], value[2], value[3]];
}

/** A COCO segmentation (polygons or RLE) as a mask of the image's size, or null (problem recorded). */
export function checkSegmentation(value: unknown, path: string, image: { width: number; height: number }, problems: Problems): BinaryMask | null {
  const { width, height } = image;
  if (Array.isArray(value)) {
    const ok = value.length > 0 && value.every((p) => Array.isArray(p) && p.length >= 6 && p.length % 2 === 0 && p.every(isFinite));
    if (!ok) {
      problems.add(path, 'polygons (a non-empty list of [x0, y0, x1, y1, ...] with at least 3 points each) or an RLE object', value);
      return null;
    }
    return polygonsToMask(value as number[][], height, width);
  }
  if (isRecord(value)) {
    const size = value.size;
    if (!Array.isArray(size) || size.length !== 2 || size[0] !== height || size[1] !== width) {
      problems.add(`${path}.size`, `[height, width] = [${height}, ${width}] (the image's size)`, size);
      return null;
    }
    try {
      if (typeof value.counts === 'string') return decodeCounts(countsFromString(value.counts), height, width);
      if (Array.isArray(value.counts)) return decodeCounts(value.counts as number[], height, width);
    } catch (error) {
      problems.note(`${path}.counts`, `invalid RLE (${errorMessage(error)})`);
      return null;
    }
    problems.add(`${path}.counts`, 'an RLE counts string or list of run lengths', value.counts);
    return null;
  }
  problems.add(path, 'polygons or an RLE object {size, counts}', value);
  return null;
}

/** Attribute values as strings (numbers and booleans are written as text); null if not an object of scalars. */
function checkAttributes(value: unknown, path: string, problems: Problems): Record<string, string> | null {
  if (value === undefined) return {};
  if (!isRecord(value)) {
    problems.add(path, 'an object of attribute values, e.g. {"skin_tone": "darker"}', value);
    return null;
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') out[key] = v.trim();
    else if (typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
    else if (v !== null) problems.add(`${path}.${key}`, 'a string, number or boolean', v);
  }
  return out;
}

/**
 * Reads COCO instances. `required` attributes must be present (non-empty) on every non-crowd
 * annotation of the `categories` named (default: all).
 */
export async function readCocoInstances(path: string, options: { required?: readonly string[]; categories?: readonly string[]; masks?: boolean } = {}): Promise<CocoGroundTruth> {
  const { value, sha256 } = await readJsonFile(path, 'COCO instances file');
  const problems = new Problems();
  if (!isRecord(value)) {
    problems.add('(top level)', 'an object with images, annotations and categories', value);
    problems.throwIfAny(path, 'COCO instances file');
  }
  const doc = value as Record<string, unknown>;
  for (const key of ['images', 'annotations', 'categories']) if (!Array.isArray(doc[key])) problems.add(key, 'an array', doc[key]);
  problems.throwIfAny(path, 'COCO instances file');

  const images: CocoImage[] = [];
  const imageById = new Map<number, CocoImage>();
  (doc.images as unknown[]).forEach((raw, i) => {
    const at = `images[${i}]`;
    if (!isRecord(raw)) return problems.add(at, 'an object', raw);
    if (!isId(raw.id)) return problems.add(`${at}.id`, 'an integer id', raw.id);
    if (imageById.has(raw.id)) return problems.note(`${at}.id`, `duplicate image id ${raw.id}`);
    if (typeof raw.file_name !== 'string' || raw.file_name.trim() === '') return problems.add(`${at}.file_name`, 'a non-empty file name', raw.file_name);
    for (const key of ['width', 'height'] as const) {
      if (!(isId(raw[key]) && (raw[key] as number) > 0)) return problems.add(`${at}.${key}`, 'a positive integer', raw[key]);
    }
    const image = { id: raw.id, file_name: raw.file_name, width: raw.width as number, height: raw.height as number };
    images.push(image);
    imageById.set(image.id, image);
  });
  const categories: { id: number; name: string }[] = [];
  (doc.categories as unknown[]).forEach((raw, i) => {
    const at = `categories[${i}]`;
    if (!isRecord(raw) || !isId(raw.id) || typeof raw.name !== 'string') return problems.add(at, 'an object {id: integer, name: string}', raw);
    if (categories.some((c) => c.id === raw.id)) return problems.note(`${at}.id`, `duplicate category id ${raw.id}`);
    categories.push({ id: raw.id, name: raw.name });
  });
  const wanted = options.categories ? new Set(categories.filter((c) => options.categories?.includes(c.name)).map((c) => c.id)) : null;
  for (const name of options.categories ?? []) {
    if (!categories.some((c) => c.name === name)) problems.note('categories', `no category named ${JSON.stringify(name)} (categories: ${categories.map((c) => c.name).join(', ')})`);
  }
  const annotations: AnnotatedInstance[] = [];
  const annotationIds = new Set<number>();
  (doc.annotations as unknown[]).forEach((raw, i) => {
    const at = `annotations[${i}]`;
    if (!isRecord(raw)) return problems.add(at, 'an object', raw);
    if (!isId(raw.id)) return problems.add(`${at}.id`, 'an integer id', raw.id);
    if (annotationIds.has(raw.id)) return problems.note(`${at}.id`, `duplicate annotation id ${raw.id}`);
    annotationIds.add(raw.id);
    const image = isId(raw.image_id) ? imageById.get(raw.image_id) : undefined;
    if (!image) return problems.add(`${at}.image_id`, 'the id of an image in images', raw.image_id);
    if (!isId(raw.category_id) || !categories.some((c) => c.id === raw.category_id)) return problems.add(`${at}.category_id`, 'the id of a category in categories', raw.category_id);
    const bbox = checkBox(raw.bbox, `${at}.bbox`, problems);
    if (!isFinite(raw.area) || raw.area < 0) problems.add(`${at}.area`, 'a non-negative number (the mask area, as COCO defines it)', raw.area);
    const crowd = raw.iscrowd ?? 0;
    if (crowd !== 0 && crowd !== 1 && crowd !== true && crowd !== false) problems.add(`${at}.iscrowd`, '0 or 1', raw.iscrowd);
    const attributes = checkAttributes(raw.attributes, `${at}.attributes`, problems);
    const iscrowd = crowd === 1 || crowd === true;
    if (attributes && !iscrowd && (wanted === null || wanted.has(raw.category_id))) {
      for (const name of options.required ?? []) {
        if ((attributes[name] ?? '') === '') problems.note(`${at}.attributes.${name}`, `missing (every ${wanted ? 'audited ' : ''}annotation needs each sensitive attribute)`);
      }
    }
    let mask: BinaryMask | undefined;
    if (options.masks && raw.segmentation !== undefined) mask = checkSegmentation(raw.segmentation, `${at}.segmentation`, image, problems) ?? undefined;
    if (!bbox || !isFinite(raw.area) || !attributes) return;
    annotations.push({ id: raw.id, image_id: image.id, category_id: raw.category_id, bbox, area: raw.area, iscrowd, attributes, ...(mask ? { mask } : {}) });
  });
  problems.throwIfAny(path, 'COCO instances file');
  return { path, sha256, format: 'coco', images, categories, annotations };
}

/**
 * Reads COCO results (a JSON array of detections). Like pycocotools' loadRes: every image_id must
 * be an image of the ground truth; the area is width × height (or the mask area with masks).
 * Entries may name their image by `file_name` instead of `image_id` (FACET has no image ids).
 */
export async function readCocoResults(path: string, gt: CocoGroundTruth, options: { masks?: boolean } = {}): Promise<CocoDetections> {
  const { value, sha256 } = await readJsonFile(path, 'Detections file');
  const problems = new Problems();
  if (!Array.isArray(value)) {
    problems.add('(top level)', 'a JSON array of {image_id, category_id, bbox, score} (COCO results format)', value);
    problems.throwIfAny(path, 'COCO results file');
  }
  const byId = new Map(gt.images.map((image) => [image.id, image]));
  const byName = new Map(gt.images.map((image) => [image.file_name, image]));
  const categories = new Set(gt.categories.map((c) => c.id));
  const detections: Detection[] = [];
  (value as unknown[]).forEach((raw, i) => {
    const at = `[${i}]`;
    if (!isRecord(raw)) return problems.add(at, 'an object', raw);
    // FACET image ids are vigil's own numbering (sorted file names), so a file_name wins there.
    const byFile = typeof raw.file_name === 'string' ? byName.get(raw.file_name) : undefined;
    const image = gt.format === 'facet' && byFile ? byFile : isId(raw.image_id) ? byId.get(raw.image_id) : byFile;
    if (!image) {
      return raw.image_id === undefined && raw.file_name !== undefined
        ? problems.add(`${at}.file_name`, 'the file name of an image of the ground truth', raw.file_name)
        : problems.add(`${at}.image_id`, `the id of an image of the ground truth ${gt.path}`, raw.image_id);
    }
    if (!isId(raw.category_id) || !categories.has(raw.category_id)) return problems.add(`${at}.category_id`, 'the id of a category of the ground truth', raw.category_id);
    const bbox = checkBox(raw.bbox, `${at}.bbox`, problems);
    if (!isFinite(raw.score)) problems.add(`${at}.score`, 'a finite number', raw.score);
    let mask: BinaryMask | undefined;
    if (options.masks) {
      if (raw.segmentation === undefined) problems.note(`${at}.segmentation`, 'missing (segm evaluation needs a mask on every detection)');
      else mask = checkSegmentation(raw.segmentation, `${at}.segmentation`, image, problems) ?? undefined;
    }
    if (!bbox || !isFinite(raw.score)) return;
    detections.push({ image_id: image.id, category_id: raw.category_id, bbox, score: raw.score, area: mask ? maskArea(mask) : bbox[2] * bbox[3], ...(mask ? { mask } : {}) });
  });
  problems.throwIfAny(path, 'COCO results file');
  return { path, sha256, detections };
}
