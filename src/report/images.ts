import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { sniffImageMime } from '../core/image-format.js';
import { SeededRandom } from '../core/random.js';

/**
 * Images in reports are embedded as small JPEG data URIs so the HTML file stays self-contained
 * and its size bounded: every image is downscaled (longest edge `maxEdge`) and each report shows at
 * most a fixed number of them, sampled with a seed and announced in a note.
 */

export interface Thumbnail {
  /** data:image/jpeg;base64,... */
  dataUri: string;
  width: number;
  height: number;
}

/** Default longest edge of a thumbnail, in pixels. */
export const THUMBNAIL_EDGE = 128;

/**
 * Downscales an image file (or image bytes) into a data URI. Returns undefined when the file is
 * missing or is not a readable image: a report re-rendered on another machine should still render,
 * without it. Whatever the input, the output is a JPEG sharp encoded.
 */
export async function thumbnail(
  path: string | Buffer | undefined,
  maxEdge = THUMBNAIL_EDGE,
  options: { enlargePixelated?: boolean } = {},
): Promise<Thumbnail | undefined> {
  if (path === undefined) return undefined;
  try {
    const { data, info } = await sharp(path, { limitInputPixels: 100_000_000 })
      .rotate()
      // Evidence maps (a 14×14 patch-error grid) are enlarged with nearest neighbour, so each
      // patch stays a crisp square; photos are only ever shrunk.
      .resize(maxEdge, maxEdge, {
        fit: 'inside',
        withoutEnlargement: !options.enlargePixelated,
        kernel: options.enlargePixelated ? 'nearest' : 'lanczos3',
      })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 72, mozjpeg: true })
      .toBuffer({ resolveWithObject: true });
    return { dataUri: `data:image/jpeg;base64,${data.toString('base64')}`, width: info.width, height: info.height };
  } catch {
    return undefined;
  }
}

/**
 * An image a results document carries inline (base64), e.g. a C2PA ingredient thumbnail: the bytes
 * are data from elsewhere, so they are embedded only when they sniff as JPEG or PNG, and then
 * re-encoded (never passed through as they are, never as markup).
 */
export async function inlineThumbnail(image: { base64?: unknown } | undefined, maxEdge = THUMBNAIL_EDGE): Promise<Thumbnail | undefined> {
  if (typeof image?.base64 !== 'string' || image.base64.length > 4 * MAX_INLINE_IMAGE_BYTES) return undefined;
  const bytes = Buffer.from(image.base64, 'base64');
  const mime = sniffImageMime(bytes);
  return mime === 'image/jpeg' || mime === 'image/png' ? thumbnail(bytes, maxEdge) : undefined;
}

/** Inline images larger than this (decoded) are not embedded: verify carries at most 128 KiB per thumbnail. */
const MAX_INLINE_IMAGE_BYTES = 256 * 1024;

/**
 * Resolves a path recorded in results.json. Evidence images are recorded relative to the results
 * folder; input files as the user gave them (relative to where the audit ran): the first that
 * exists wins, so re-rendering from another folder still finds what can be found.
 */
export function resolveRecordedPath(path: string, baseDir: string | undefined, imagesUnder?: string): string | undefined {
  if (isAbsolute(path)) return confinedPath(path, imagesUnder);
  const candidates = [...(baseDir === undefined ? [] : [resolve(baseDir, path)]), resolve(path)];
  return confinedPath(candidates.find((candidate) => existsSync(candidate)) ?? candidates[0], imagesUnder);
}

/**
 * `path` when it may be embedded: always without `imagesUnder`; with it (a report re-rendered from
 * a results document that may come from elsewhere), only when the file really lies under that
 * folder, symlinks resolved. A results.json naming `/home/someone/private.jpg` embeds nothing.
 */
export function confinedPath(path: string, imagesUnder: string | undefined): string | undefined {
  if (imagesUnder === undefined) return path;
  try {
    const rel = relative(realpathSync(imagesUnder), realpathSync(path));
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? path : undefined;
  } catch {
    return undefined;
  }
}

export interface Sampled<T> {
  items: T[];
  /** How many were left out to keep within the budget. */
  omitted: number;
}

/**
 * Keeps at most `max` items, chosen uniformly with the seed, in their original order (so a report
 * re-rendered from the same results shows the same images).
 */
export function sampleWithinBudget<T>(items: readonly T[], max: number, seed: number): Sampled<T> {
  if (items.length <= max) return { items: [...items], omitted: 0 };
  const indices = new SeededRandom(seed).shuffle(items.map((_, i) => i)).slice(0, max).sort((a, b) => a - b);
  return { items: indices.map((i) => items[i]), omitted: items.length - max };
}
