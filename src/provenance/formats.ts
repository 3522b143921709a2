import { VigilInputError } from '../core/errors.js';

/** Image formats vigil reads and signs C2PA manifests in, by magic bytes (never by file extension). */
export const SUPPORTED_FORMATS = ['image/jpeg', 'image/png', 'image/webp'] as const;

export type SupportedMime = (typeof SUPPORTED_FORMATS)[number];

export function sniffImageFormat(bytes: Uint8Array): SupportedMime | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return 'image/png';
  }
  if (bytes.length >= 12 && Buffer.from(bytes.subarray(0, 4)).toString('latin1') === 'RIFF' && Buffer.from(bytes.subarray(8, 12)).toString('latin1') === 'WEBP') {
    return 'image/webp';
  }
  return undefined;
}

/** The format of an image, or an input error naming the file and the formats vigil supports. */
export function requireImageFormat(bytes: Uint8Array, subject: string): SupportedMime {
  const mime = sniffImageFormat(bytes);
  if (mime === undefined) {
    const head = Buffer.from(bytes.subarray(0, 8)).toString('hex');
    throw new VigilInputError(
      `${subject}: unsupported format (C2PA verify and sign support ${SUPPORTED_FORMATS.join(', ')}; the file starts with bytes ${head || '(empty file)'})`,
      { subject },
    );
  }
  return mime;
}
