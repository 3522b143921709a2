import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { VigilInputError } from '../../src/core/errors.js';
import { preprocessImage, shortestEdgeSize } from '../../src/vision/images.js';
import { parsePreprocessorConfig } from '../../src/vision/preprocessing.js';
import type { PreprocessConfig } from '../../src/vision/types.js';

/** Identity-like preprocessing (no normalisation) so tensor values are pixel / 255. */
function plain(size: number, overrides: Partial<PreprocessConfig> = {}): PreprocessConfig {
  return {
    ...parsePreprocessorConfig(
      { do_resize: true, size: { height: size, width: size }, resample: 3, do_normalize: false },
      'test/preprocessor_config.json',
      true,
    ),
    ...overrides,
  };
}

/** Value of channel c at (x, y) of a C×H×W tensor, back in 0-255 units. */
function at(t: { data: Float32Array; width: number; height: number }, c: number, x: number, y: number): number {
  return Math.round(t.data[c * t.width * t.height + y * t.width + x] * 255);
}

async function raw(width: number, height: number, channels: 3 | 4, pixel: (x: number, y: number) => number[]): Promise<Sharp> {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * channels);
  return sharp(data, { raw: { width, height, channels } });
}

describe('parsePreprocessorConfig', () => {
  const file = 'm/preprocessor_config.json';

  it('reads a CLIP config: shortest edge, bicubic, center crop, normalisation', () => {
    const config = parsePreprocessorConfig(
      {
        do_resize: true,
        size: { shortest_edge: 224 },
        resample: 3,
        do_center_crop: true,
        crop_size: { height: 224, width: 224 },
        do_rescale: true,
        rescale_factor: 0.00392156862745098,
        do_normalize: true,
        image_mean: [0.48145466, 0.4578275, 0.40821073],
        image_std: [0.26862954, 0.26130258, 0.27577711],
      },
      file,
      false,
    );
    expect(config.resize).toEqual({ shortestEdge: 224 });
    expect(config.kernel).toBe('cubic');
    expect(config.inputSize).toEqual({ height: 224, width: 224 });
    expect(config.imageStd[2]).toBeCloseTo(0.27577711, 8);
  });

  it('reads bare integer sizes the way transformers does (square for ViT, shortest edge for CLIP)', () => {
    expect(parsePreprocessorConfig({ size: 32 }, file, true).resize).toEqual({ height: 32, width: 32 });
    expect(parsePreprocessorConfig({ size: 32, do_center_crop: true, crop_size: 32 }, file, false).resize).toEqual({ shortestEdge: 32 });
  });

  it('maps PIL resample codes to sharp kernels', () => {
    const kernel = (resample: number) => parsePreprocessorConfig({ size: 8, resample }, file, true).kernel;
    expect([0, 1, 2, 3].map(kernel)).toEqual(['nearest', 'lanczos3', 'linear', 'cubic']);
  });

  it('names the file, field, expectation and received value on bad input', () => {
    expect(() => parsePreprocessorConfig({ size: { longest_edge: 5 } }, file, true)).toThrow(
      /m\/preprocessor_config.json: expected size to be \{"shortest_edge": n\} or \{"height": h, "width": w\}/,
    );
    expect(() => parsePreprocessorConfig({ size: 8, image_mean: [0.5, 0.5] }, file, true)).toThrow(
      /expected image_mean to be three numbers .* but received an array of length 2/,
    );
    expect(() => parsePreprocessorConfig({ size: 8, resample: 9 }, file, true)).toThrow(/expected resample to be a PIL resample code/);
    expect(() => parsePreprocessorConfig({ size: { shortest_edge: 8 } }, file, false)).toThrow(/input size is not fixed/);
    expect(() => parsePreprocessorConfig({ size: 8, image_std: [1, 0, 1] }, file, true)).toThrow(/image_std/);
  });
});

describe('shortestEdgeSize', () => {
  it('truncates the long side like transformers get_resize_output_image_size', () => {
    expect(shortestEdgeSize(480, 640, 224)).toEqual({ height: 224, width: 298 });
    expect(shortestEdgeSize(641, 480, 224)).toEqual({ height: 299, width: 224 });
    expect(shortestEdgeSize(100, 100, 224)).toEqual({ height: 224, width: 224 });
  });
});

describe('preprocessImage', () => {
  it('rescales and normalises exactly at the input size (no resize), CHW order', async () => {
    const png = await (await raw(4, 4, 3, (x, y) => [x * 60, y * 60, 7])).png().toBuffer();
    const config = {
      ...plain(4),
      doNormalize: true,
      imageMean: [0.5, 0.25, 0.125] as [number, number, number],
      imageStd: [0.5, 0.25, 2] as [number, number, number],
    };
    const t = await preprocessImage(png, config);
    expect([t.width, t.height, t.data.length]).toEqual([4, 4, 48]);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        expect(t.data[y * 4 + x]).toBeCloseTo((Math.fround((x * 60) / 255) - 0.5) / 0.5, 6);
        expect(t.data[16 + y * 4 + x]).toBeCloseTo((Math.fround((y * 60) / 255) - 0.25) / 0.25, 6);
        expect(t.data[32 + y * 4 + x]).toBeCloseTo((Math.fround(7 / 255) - 0.125) / 2, 6);
      }
    }
  });

  it('center-crops with floor((size - crop) / 2) offsets after a shortest-edge resize', async () => {
    // 6x4 image whose column index is encoded in red: resize to shortest edge 4 is a no-op, crop 4x4 keeps columns 1..4.
    const png = await (await raw(6, 4, 3, (x) => [x * 40, 0, 0])).png().toBuffer();
    const config = parsePreprocessorConfig(
      { size: { shortest_edge: 4 }, do_center_crop: true, crop_size: { height: 4, width: 4 }, do_normalize: false },
      'c',
      false,
    );
    const t = await preprocessImage(png, config);
    expect([0, 1, 2, 3].map((x) => at(t, 0, x, 0))).toEqual([40, 80, 120, 160]);
  });

  it('resizes with the configured kernel to the target size', async () => {
    const png = await (await raw(64, 48, 3, () => [200, 100, 50])).png().toBuffer();
    const t = await preprocessImage(png, plain(16));
    expect([t.width, t.height]).toEqual([16, 16]);
    expect(at(t, 0, 5, 5)).toBe(200);
    expect(at(t, 2, 15, 15)).toBe(50);
  });

  it('applies the EXIF orientation before anything else', async () => {
    // Stored 2x1: red then blue. Orientation 6 = rotate 90° clockwise to display: red on top, blue below.
    const jpeg = await (await raw(2, 1, 3, (x) => (x === 0 ? [255, 0, 0] : [0, 0, 255])))
      .resize(64, 32, { kernel: 'nearest' })
      .withMetadata({ orientation: 6 })
      .png()
      .toBuffer();
    const config = parsePreprocessorConfig({ size: { height: 64, width: 32 }, do_normalize: false }, 'c', true);
    const t = await preprocessImage(jpeg, config);
    expect([t.width, t.height]).toEqual([32, 64]);
    expect([at(t, 0, 16, 5), at(t, 2, 16, 5)]).toEqual([255, 0]);
    expect([at(t, 0, 16, 60), at(t, 2, 16, 60)]).toEqual([0, 255]);
  });

  it('flattens alpha on white', async () => {
    const png = await (await raw(4, 4, 4, (x) => (x < 2 ? [0, 0, 0, 0] : [0, 0, 0, 255]))).png().toBuffer();
    const t = await preprocessImage(png, plain(4));
    expect(at(t, 1, 0, 0)).toBe(255); // transparent → white
    expect(at(t, 1, 3, 0)).toBe(0); // opaque black stays black
  });

  it('converts grayscale, 16-bit and CMYK images to 8-bit sRGB with three channels', async () => {
    const grey = await (await raw(4, 4, 3, () => [90, 90, 90])).toColourspace('b-w').png().toBuffer();
    const sixteen = await (await raw(4, 4, 3, () => [10, 200, 30])).toColourspace('rgb16').png().toBuffer();
    const cmyk = await (await raw(4, 4, 3, () => [10, 200, 30])).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    expect((await sharp(sixteen).metadata()).depth).toBe('ushort');
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');

    const g = await preprocessImage(grey, plain(4));
    expect([0, 1, 2].map((c) => at(g, c, 1, 1))).toEqual([90, 90, 90]);
    const s = await preprocessImage(sixteen, plain(4));
    expect([0, 1, 2].map((c) => at(s, c, 1, 1))).toEqual([10, 200, 30]);
    const k = await preprocessImage(cmyk, plain(4));
    const rgb = [0, 1, 2].map((c) => at(k, c, 1, 1));
    // Through a CMYK profile and back the colour is not exact, but it stays a clear green.
    expect(rgb[1]).toBeGreaterThan(rgb[0] + 50);
    expect(rgb[1]).toBeGreaterThan(rgb[2] + 50);
  });

  it('rejects an image above the pixel limit, naming it, its size and the limit', async () => {
    const png = await (await raw(40, 30, 3, () => [1, 2, 3])).png().toBuffer();
    const error = await preprocessImage(png, plain(8), { pixelLimit: 1000, name: 'big.png' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VigilInputError);
    expect((error as Error).message).toBe('big.png: 40x30 = 1200 pixels exceeds the pixel limit of 1000');
    await expect(preprocessImage(png, plain(8), { pixelLimit: 1200 })).resolves.toBeDefined();
  });

  it('reports undecodable bytes with the image name', async () => {
    await expect(preprocessImage(Buffer.from('not an image'), plain(8), { name: 'x.jpg' })).rejects.toThrow(/^x\.jpg: cannot decode image/);
  });
});
