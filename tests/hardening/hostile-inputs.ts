/**
 * Hostile inputs for the hardening suite, built in memory (nothing here is a fixture file).
 */
import sharp from 'sharp';
import { crc32, deflateSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/version.js';

export const CONFORMANCE_DIR = resolve(process.env.VIGIL_C2PA_CONFORMANCE ?? join(PACKAGE_ROOT, '..', 'shared', 'conformance', 'c2pa-rs'));

/** Strings that would execute or break out if rendered unescaped. */
export const HOSTILE_STRINGS = [
  '<script>window.__pwned=1</script>',
  '"><img src=x onerror=alert(1)>',
  "'; DROP TABLE images; --",
  '{{constructor.constructor("alert(1)")()}}',
];

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A decompression bomb made cheaply: a valid PNG (correct CRCs) whose IHDR claims width × height
 * RGB pixels, with a small zlib stream of zero rows. Decoding it would need width × height × 3 bytes.
 */
export function pngBomb(width = 50_000, height = 50_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc((1 + width * 3) * 4); // four rows of zeros; a decoder would want them all
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(rows, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export async function solidImage(format: 'jpeg' | 'png' | 'webp', size = 64): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 251;
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).toFormat(format).toBuffer();
}

export async function animated(format: 'gif' | 'webp' | 'tiff'): Promise<Buffer> {
  const frames = await Promise.all(
    [0, 128, 255].map((r) => sharp({ create: { width: 32, height: 32, channels: 3, background: { r, g: 64, b: 0 } } }).png().toBuffer()),
  );
  return sharp(frames, { join: { animated: true } }).toFormat(format).toBuffer();
}

/**
 * Named hostile image inputs and what they must get: 'error' (a named error), 'ok' (a result), or
 * 'either' (scrambled entropy-coded data that a tolerant decoder may still decode).
 */
export type Expected = 'error' | 'ok' | 'either';

export async function hostileImages(): Promise<Array<{ name: string; bytes: Buffer; expected: Expected }>> {
  const jpeg = await solidImage('jpeg');
  const png = await solidImage('png');
  const webp = await solidImage('webp');
  const corrupt = (bytes: Buffer): Buffer => {
    const copy = Buffer.from(bytes);
    for (let i = Math.floor(copy.length / 3); i < copy.length - 2; i += 7) copy[i] = 0xff - copy[i];
    return copy;
  };
  return [
    { name: 'empty.jpg', bytes: Buffer.alloc(0), expected: 'error' },
    { name: 'truncated.jpg', bytes: jpeg.subarray(0, Math.floor(jpeg.length / 2)), expected: 'error' },
    { name: 'truncated.png', bytes: png.subarray(0, Math.floor(png.length / 2)), expected: 'error' },
    { name: 'truncated.webp', bytes: webp.subarray(0, Math.floor(webp.length / 2)), expected: 'error' },
    { name: 'header-only.png', bytes: png.subarray(0, 33), expected: 'error' },
    { name: 'corrupt.jpg', bytes: corrupt(jpeg), expected: 'either' },
    { name: 'corrupt.png', bytes: corrupt(png), expected: 'either' },
    { name: 'corrupt.webp', bytes: corrupt(webp), expected: 'either' },
    { name: 'bomb-50000x50000.png', bytes: pngBomb(), expected: 'error' },
    { name: 'text-named.png', bytes: Buffer.from('GIF89a? no, just text pretending\n'), expected: 'error' },
    { name: 'html.jpg', bytes: Buffer.from(HOSTILE_STRINGS[0]), expected: 'error' },
    { name: 'png-named.jpg', bytes: png, expected: 'ok' },
    { name: 'animated.gif', bytes: await animated('gif'), expected: 'ok' },
    { name: 'animated.webp', bytes: await animated('webp'), expected: 'ok' },
    { name: 'multipage.tiff', bytes: await animated('tiff'), expected: 'ok' },
  ];
}

/** Resolves with `work`, or rejects when it takes longer than `ms`: a hang fails the test by name. */
export async function withinTime<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} not answered within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
