import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { globSync } from 'tinyglobby';
import { phash, phashOfPixels, phashSimilarity, phashVariants } from '../../src/provenance/fingerprint.js';
import { signImage } from '../../src/provenance/sign.js';
import { fingerprintImage, PHASH_MATCH_THRESHOLD, ProvenanceIndex } from '../../src/provenance/soft-binding.js';
import { verifyBytes } from '../../src/provenance/verify.js';
import { devCredentials, tempDir, type DevCredentials } from './helpers.js';

/** The screening fixtures: 400 photo-like and generated 128x128 images (JPEG and PNG), committed. */
const FIXTURES = globSync('fixtures/screen/{train,heldout}/**/*.{jpg,png}').sort();

async function centerCrop(bytes: Buffer, fraction: number): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(bytes).metadata();
  const w = Math.round(width * fraction);
  const h = Math.round(height * fraction);
  return sharp(bytes).extract({ left: (width - w) >> 1, top: (height - h) >> 1, width: w, height: h }).jpeg({ quality: 85 }).toBuffer();
}

/** What an upload pipeline does to a signed image: the manifest is gone, the picture is (almost) the same. */
const STRIPPERS: Record<string, (bytes: Buffer) => Promise<Buffer>> = {
  'jpeg re-encode q70': (bytes) => sharp(bytes).jpeg({ quality: 70 }).toBuffer(),
  'png re-encode': (bytes) => sharp(bytes).png().toBuffer(),
  'webp half size': async (bytes) => sharp(bytes).resize({ width: 64 }).webp({ quality: 75 }).toBuffer(),
  'center crop 0.9': (bytes) => centerCrop(bytes, 0.9),
};

describe('soft-binding recovery', () => {
  let workspace: { dir: string; cleanup: () => Promise<void> };
  let dev: DevCredentials;
  let index: ProvenanceIndex;
  const signed: { path: string; recordId: string }[] = [];
  // The first 20 fixtures are signed and indexed; the other 380 play unrelated images.
  const SIGNED_COUNT = 20;

  beforeAll(async () => {
    expect(FIXTURES.length).toBe(400);
    workspace = await tempDir();
    dev = await devCredentials(join(workspace.dir, 'keys'));
    index = ProvenanceIndex.open(join(workspace.dir, 'index', 'provenance.db'));
    for (const [i, fixture] of FIXTURES.slice(0, SIGNED_COUNT).entries()) {
      const output = join(workspace.dir, `signed-${i}${fixture.slice(fixture.lastIndexOf('.'))}`);
      const result = await signImage({ input: fixture, output, signer: dev.signer, index, generator: 'fixture-gen 1.0' });
      signed.push({ path: output, recordId: result.indexRecordId! });
    }
  }, 120_000);
  afterAll(async () => {
    index?.close();
    await workspace.cleanup();
  });

  it('pHash is a 64-bit hash that is stable under re-encoding and differs between images', async () => {
    const bytes = await readFile(FIXTURES[0]);
    const hash = await phash(bytes);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(phashSimilarity(hash, hash)).toBe(1);
    expect(phashSimilarity(hash, await phash(await sharp(bytes).png().toBuffer()))).toBeGreaterThanOrEqual(0.9);
    expect(phashSimilarity(hash, await phash(await readFile(FIXTURES[200])))).toBeLessThan(PHASH_MATCH_THRESHOLD);
    // A flat grey image has only the DC coefficient above the median (no floating-point noise bits).
    expect(phashOfPixels(new Uint8Array(32 * 32).fill(128))).toBe('8000000000000000');
    expect(await phashVariants(bytes)).toHaveLength(3);
  });

  it('records every signed image in the index', () => {
    expect(index.size).toBe(SIGNED_COUNT);
    expect(new Set(signed.map((entry) => entry.recordId)).size).toBe(SIGNED_COUNT);
  });

  for (const [name, strip] of Object.entries(STRIPPERS)) {
    it(`recovers the signed original after ${name}`, async () => {
      for (const [i, original] of signed.entries()) {
        const stripped = await strip(await readFile(original.path));
        const result = await verifyBytes(stripped, `stripped-${i}`, { softBinding: index });
        expect(result.state).toBe('NoManifest');
        expect(result.softBinding?.match?.recordId, `${name} #${i}`).toBe(original.recordId);
        expect(result.softBinding?.match?.similarity).toBeGreaterThanOrEqual(PHASH_MATCH_THRESHOLD);
        expect(result.softBinding?.match?.manifest.aiGenerated).toBe(true);
        expect(result.softBinding?.match?.manifest.claimGeneratorInfo[0].name).toBe('fixture-gen');
      }
    });
  }

  it('matches no unrelated fixture image (false-match rate 0 of 380 x 20 pairs)', async () => {
    let falseMatches = 0;
    for (const fixture of FIXTURES.slice(SIGNED_COUNT)) {
      const lookup = await index.lookup(await readFile(fixture));
      if (lookup.match) falseMatches++;
    }
    expect(falseMatches).toBe(0);
  }, 60_000);

  it('skips the lookup, with the reason, for an image it cannot decode', async () => {
    // A valid AVIF container header with no decodable image: c2pa-rs finds no manifest, sharp cannot decode it.
    const broken = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypavif\0\0\0\0avifmif1', 'latin1'), Buffer.alloc(64)]);
    const result = await verifyBytes(broken, 'broken.avif', { softBinding: index });
    expect(result.format).toBe('image/avif');
    expect(result.state).toBe('NoManifest');
    expect(result.softBinding?.match).toBeUndefined();
    expect(result.softBinding?.error).toMatch(/broken\.avif: cannot decode the image/);
  });

  it('does not look up files that carry a manifest', async () => {
    const bytes = await readFile(signed[0].path);
    const result = await verifyBytes(bytes, 'signed', { softBinding: index });
    expect(result.state).toBe('Valid');
    expect(result.softBinding).toBeUndefined();
  });

  it('reopens an existing index file and keeps its records', async () => {
    const path = join(workspace.dir, 'reopen.db');
    const first = ProvenanceIndex.open(path);
    const signedPath = join(workspace.dir, 'reopen.jpg');
    await writeFile(signedPath, await readFile(signed[1].path));
    const { readAsset } = await import('../../src/provenance/engine.js');
    const bytes = await readFile(signedPath);
    first.record({ signedPath, sha256: 'x', format: 'image/jpeg', reading: await readAsset('image/jpeg', bytes), fingerprint: await fingerprintImage(bytes, signedPath) });
    first.close();
    const second = ProvenanceIndex.open(path);
    expect(second.size).toBe(1);
    expect((await second.lookup(await sharp(bytes).png().toBuffer())).match?.signedPath).toBe(signedPath);
    second.close();
  });
});
