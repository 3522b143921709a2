import sharp from 'sharp';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { DEFAULT_PIXEL_LIMIT } from '../vision/images.js';
import type { GrayImage } from './signals/spectral.js';


export interface DecodedImage extends GrayImage {
  /** Container format as sharp detected it (jpeg, png, webp, ...). */
  format: string;
}

/** Decodes image bytes to 8-bit luma at native resolution; undecodable input is an error naming the file. */
export async function decodeGray(bytes: Uint8Array, name: string, pixelLimit = DEFAULT_PIXEL_LIMIT): Promise<DecodedImage> {
  try {
    const image = sharp(bytes, { limitInputPixels: pixelLimit, failOn: 'error' });
    const { format } = await image.metadata();
    const { data, info } = await image.greyscale().raw().toBuffer({ resolveWithObject: true });
    // greyscale() keeps an alpha channel when there is one; keep the luma plane only.
    const luma = info.channels === 1 ? new Uint8Array(data.buffer, data.byteOffset, data.length) : extractFirstChannel(data, info.channels);
    return { data: luma, width: info.width, height: info.height, format: format ?? 'unknown' };
  } catch (error) {
    throw new VigilInputError(`${name}: cannot decode image (${errorMessage(error)})`, { subject: name, cause: error });
  }
}

function extractFirstChannel(data: Buffer, channels: number): Uint8Array {
  const out = new Uint8Array(data.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels];
  return out;
}
