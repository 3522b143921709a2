import sharp, { type OutputInfo } from 'sharp';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { DEFAULT_PIXEL_LIMIT } from '../vision/images.js';
import type { GrayImage } from './signals/spectral.js';

/** An image decoded once at native resolution: its raw pixels, and the luma the spectrum uses. */
export interface DecodedImage extends GrayImage {
  /** Container format, from the file's magic bytes (jpeg, png, webp, gif, tiff, avif, or unknown). */
  format: string;
  /** Interleaved 8-bit pixels as decoded (1 to 4 channels). */
  pixels: Buffer;
  channels: 1 | 2 | 3 | 4;
}

/** Container format by magic bytes (never by file name). */
export function sniffFormat(bytes: Uint8Array): string {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  const ascii = (start: number, end: number) => String.fromCharCode(...b.subarray(start, end));
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (b.length >= 6 && ascii(0, 4) === 'GIF8') return 'gif';
  if (b.length >= 4 && (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*')) return 'tiff';
  if (b.length >= 12 && ascii(4, 8) === 'ftyp' && /avi[fs]/.test(ascii(8, 12))) return 'avif';
  return 'unknown';
}

/**
 * Decodes image bytes at native resolution (never resized: resampling would erase the artifacts
 * the pixel signals look for). Luma is Rec.601 Y' on the encoded values, what JPEG itself
 * compresses; computed here from the raw decode, which is much faster than a colourspace
 * conversion in libvips. Undecodable input is an error naming the file.
 */
export async function decodeImage(bytes: Uint8Array, name: string, pixelLimit = DEFAULT_PIXEL_LIMIT): Promise<DecodedImage> {
  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await sharp(bytes, { limitInputPixels: pixelLimit, failOn: 'error' }).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (error) {
    throw new VigilInputError(`${name}: cannot decode image (${errorMessage(error)})`, { subject: name, cause: error });
  }
  const { width, height } = info;
  const channels = info.channels as DecodedImage['channels'];
  const luma = new Uint8Array(width * height);
  if (channels >= 3) {
    for (let i = 0, j = 0; i < luma.length; i++, j += channels) luma[i] = (77 * data[j] + 150 * data[j + 1] + 29 * data[j + 2] + 128) >> 8;
  } else {
    for (let i = 0, j = 0; i < luma.length; i++, j += channels) luma[i] = data[j];
  }
  return { data: luma, width, height, format: sniffFormat(bytes), pixels: data, channels };
}

export interface CropSize {
  height: number;
  width: number;
}

/**
 * The centre of a decoded image at native resolution, cut to a model's input size and encoded as
 * PNG (as UniversalFakeDetect does: resizing to the model's input would erase the high-frequency
 * traces a probe learns from). Null when the image is smaller than the input in either side: the
 * model then gets the original file and resizes it itself.
 */
export async function nativeCenterCrop(image: DecodedImage, size: CropSize): Promise<Buffer | null> {
  if (image.width < size.width || image.height < size.height) return null;
  return sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .extract({ left: Math.floor((image.width - size.width) / 2), top: Math.floor((image.height - size.height) / 2), width: size.width, height: size.height })
    .png({ compressionLevel: 1 })
    .toBuffer();
}
