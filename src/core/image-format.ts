/**
 * Image formats vigil recognises, by magic bytes (never by file extension or Content-Type): an
 * input is what its bytes say it is. The one sniffer used by provenance, screening and the service.
 */
export const IMAGE_MIME_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/tiff', 'image/gif', 'image/avif', 'image/heif'] as const;

export type ImageMime = (typeof IMAGE_MIME_TYPES)[number];

/** ISO BMFF brands (ftyp major or compatible) of AVIF and of other HEIF images. */
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.subarray(start, end)).toString('latin1');
}

function isoBrands(bytes: Uint8Array): string[] {
  if (bytes.length < 16 || latin1(bytes, 4, 8) !== 'ftyp') return [];
  const boxSize = Math.min(Buffer.from(bytes.subarray(0, 4)).readUInt32BE(0), bytes.length);
  const brands = [latin1(bytes, 8, 12)];
  for (let offset = 16; offset + 4 <= boxSize; offset += 4) brands.push(latin1(bytes, offset, offset + 4));
  return brands;
}

/** The MIME type of the image the bytes start with, or undefined when they are no known image. */
export function sniffImageMime(bytes: Uint8Array): ImageMime | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).equals(PNG_SIGNATURE)) return 'image/png';
  if (bytes.length >= 12 && latin1(bytes, 0, 4) === 'RIFF' && latin1(bytes, 8, 12) === 'WEBP') return 'image/webp';
  const head = latin1(bytes, 0, 6);
  if (head.startsWith('II*\0') || head.startsWith('MM\0*')) return 'image/tiff';
  if (head === 'GIF87a' || head === 'GIF89a') return 'image/gif';
  const brands = isoBrands(bytes);
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return 'image/avif';
  if (brands.some((brand) => HEIF_BRANDS.has(brand))) return 'image/heif';
  return undefined;
}
