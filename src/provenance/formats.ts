import { VigilInputError } from '../core/errors.js';

/**
 * Image formats vigil reads and signs C2PA manifests in, by magic bytes (never by file extension).
 * All are handled by c2pa-rs; decoding for thumbnails and fingerprints is sharp's (HEIC photos need
 * a sharp build with HEVC, so for those sign with --no-thumbnail --no-index).
 */
export const SUPPORTED_FORMATS = ['image/jpeg', 'image/png', 'image/webp', 'image/tiff', 'image/gif', 'image/avif', 'image/heif'] as const;

/** Extensions searched for when verify is given a folder. */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'gif', 'avif', 'heic', 'heif'] as const;

/** ISO BMFF brands (ftyp major or compatible) of AVIF and of other HEIF images. */
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

function isoBrands(bytes: Uint8Array): string[] {
  if (bytes.length < 16 || Buffer.from(bytes.subarray(4, 8)).toString('latin1') !== 'ftyp') return [];
  const boxSize = Math.min(Buffer.from(bytes.subarray(0, 4)).readUInt32BE(0), bytes.length);
  const brands = [Buffer.from(bytes.subarray(8, 12)).toString('latin1')];
  for (let offset = 16; offset + 4 <= boxSize; offset += 4) brands.push(Buffer.from(bytes.subarray(offset, offset + 4)).toString('latin1'));
  return brands;
}

export type SupportedMime = (typeof SUPPORTED_FORMATS)[number];

export function sniffImageFormat(bytes: Uint8Array): SupportedMime | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return 'image/png';
  }
  if (bytes.length >= 12 && Buffer.from(bytes.subarray(0, 4)).toString('latin1') === 'RIFF' && Buffer.from(bytes.subarray(8, 12)).toString('latin1') === 'WEBP') {
    return 'image/webp';
  }
  const head = Buffer.from(bytes.subarray(0, 6)).toString('latin1');
  if (head.startsWith('II*\0') || head.startsWith('MM\0*')) return 'image/tiff';
  if (head === 'GIF87a' || head === 'GIF89a') return 'image/gif';
  const brands = isoBrands(bytes);
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return 'image/avif';
  if (brands.some((brand) => HEIF_BRANDS.has(brand))) return 'image/heif';
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
