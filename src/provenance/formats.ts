import { VigilInputError } from '../core/errors.js';
import { sniffImageMime } from '../core/image-format.js';

/**
 * Formats vigil verifies and signs C2PA manifests in, by magic bytes (never by file extension):
 * every format the bundled c2pa-rs reads and writes. Images (JPEG, PNG, WebP, TIFF and the raw
 * formats built on it, GIF, AVIF, HEIF), ISO BMFF media (MP4, MOV, M4A), RIFF (WAV, AVI), MP3,
 * PDF, SVG, JPEG XL (container form) and stand-alone `.c2pa` manifest stores (sidecars).
 * Decoding for thumbnails and fingerprints is sharp's and applies to the raster images only.
 */
export const PROVENANCE_MIME_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/tiff',
  'image/gif',
  'image/avif',
  'image/heif',
  'image/jxl',
  'image/svg+xml',
  'video/mp4',
  'video/quicktime',
  'audio/mp4',
  'video/x-msvideo',
  'audio/wav',
  'audio/mpeg',
  'application/pdf',
  'application/c2pa',
] as const;

export type ProvenanceMime = (typeof PROVENANCE_MIME_TYPES)[number];

/** Formats sharp decodes, so a claim thumbnail and a soft-binding fingerprint can be made. */
const RASTER = new Set<ProvenanceMime>(['image/jpeg', 'image/png', 'image/webp', 'image/tiff', 'image/gif', 'image/avif', 'image/heif']);

export function isRasterImage(mime: ProvenanceMime): boolean {
  return RASTER.has(mime);
}

/** Extensions a folder run looks at first; every other file is still sniffed, and listed as skipped when unsupported. */
export const MEDIA_EXTENSIONS = [
  'jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'dng', 'gif', 'avif', 'heic', 'heif', 'jxl', 'svg',
  'mp4', 'm4v', 'mov', 'm4a', 'avi', 'wav', 'mp3', 'pdf', 'c2pa',
] as const;

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.subarray(start, Math.min(end, bytes.length))).toString('latin1');
}

const JXL_CONTAINER = Buffer.from([0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);

function sniffBmff(bytes: Uint8Array): ProvenanceMime | undefined {
  if (bytes.length < 12 || ascii(bytes, 4, 8) !== 'ftyp') return undefined;
  const major = ascii(bytes, 8, 12);
  if (major === 'qt  ') return 'video/quicktime';
  if (major === 'M4A ' || major === 'M4B ' || major === 'M4P ') return 'audio/mp4';
  return 'video/mp4';
}

/** An MPEG audio frame header: 11 sync bits, a valid layer and bitrate index. */
function isMpegAudioFrame(bytes: Uint8Array, offset: number): boolean {
  if (offset + 4 > bytes.length) return false;
  const b1 = bytes[offset + 1];
  return bytes[offset] === 0xff && (b1 & 0xe0) === 0xe0 && (b1 & 0x06) !== 0 && (bytes[offset + 2] & 0xf0) !== 0xf0;
}

function looksLikeSvg(bytes: Uint8Array): boolean {
  let head = ascii(bytes, 0, 4096);
  if (head.charCodeAt(0) === 0xef) head = head.slice(3); // UTF-8 byte order mark
  head = head.trimStart();
  if (!head.startsWith('<')) return false;
  return /<svg[\s>]/.test(head);
}

/** The MIME type of a C2PA-capable file from its first bytes, or undefined. */
export function sniffProvenanceMime(bytes: Uint8Array): ProvenanceMime | undefined {
  const image = sniffImageMime(bytes);
  if (image !== undefined) return image;
  if (bytes.length >= 12 && Buffer.from(bytes.subarray(0, 12)).equals(JXL_CONTAINER)) return 'image/jxl';
  const bmff = sniffBmff(bytes);
  if (bmff !== undefined) return bmff;
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF') {
    const form = ascii(bytes, 8, 12);
    if (form === 'WAVE') return 'audio/wav';
    if (form === 'AVI ') return 'video/x-msvideo';
  }
  if (ascii(bytes, 0, 3) === 'ID3' || isMpegAudioFrame(bytes, 0)) return 'audio/mpeg';
  if (ascii(bytes, 0, 1024).includes('%PDF-')) return 'application/pdf';
  // A stand-alone manifest store is a JUMBF superbox ('jumb') whose description box is 'jumd'.
  if (bytes.length >= 16 && ascii(bytes, 4, 8) === 'jumb' && ascii(bytes, 12, 16) === 'jumd') return 'application/c2pa';
  if (looksLikeSvg(bytes)) return 'image/svg+xml';
  return undefined;
}

/** Why a file is not something vigil can verify, in words; `brief` leaves out the list of formats (skipped-file lists). */
export function unsupportedReason(bytes: Uint8Array, brief = false): string {
  if (bytes.length === 0) return 'empty file';
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0x0a) return 'bare JPEG XL codestream (only the JPEG XL container format can carry C2PA)';
  const head = Buffer.from(bytes.subarray(0, 8)).toString('hex');
  return `not a format c2pa-rs reads (the file starts with bytes ${head}${brief ? '' : `; supported: ${PROVENANCE_MIME_TYPES.join(', ')}`})`;
}

/** The format of a file, or an input error naming the file and the formats vigil supports. */
export function requireProvenanceFormat(bytes: Uint8Array, subject: string): ProvenanceMime {
  const mime = sniffProvenanceMime(bytes);
  if (mime === undefined) throw new VigilInputError(`${subject}: unsupported format: ${unsupportedReason(bytes)}`, { subject });
  return mime;
}
