import { VigilInputError } from '../core/errors.js';
import { IMAGE_MIME_TYPES, sniffImageMime, type ImageMime } from '../core/image-format.js';

/**
 * Image formats vigil reads and signs C2PA manifests in, by magic bytes (never by file extension).
 * All are handled by c2pa-rs; decoding for thumbnails and fingerprints is sharp's (HEIC photos need
 * a sharp build with HEVC, so for those sign with --no-thumbnail --no-index).
 */
export const SUPPORTED_FORMATS = IMAGE_MIME_TYPES;

/** Extensions searched for when verify is given a folder. */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'gif', 'avif', 'heic', 'heif'] as const;

/** The format of an image, or an input error naming the file and the formats vigil supports. */
export function requireImageFormat(bytes: Uint8Array, subject: string): ImageMime {
  const mime = sniffImageMime(bytes);
  if (mime === undefined) {
    const head = Buffer.from(bytes.subarray(0, 8)).toString('hex');
    throw new VigilInputError(
      `${subject}: unsupported format (C2PA verify and sign support ${SUPPORTED_FORMATS.join(', ')}; the file starts with bytes ${head || '(empty file)'})`,
      { subject },
    );
  }
  return mime;
}
