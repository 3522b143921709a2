import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { globSync } from 'tinyglobby';
import { loadClipFingerprinter, type ClipFingerprinter } from '../../src/provenance/fingerprint.js';
import { signImage } from '../../src/provenance/sign.js';
import { ProvenanceIndex } from '../../src/provenance/soft-binding.js';
import { devCredentials, tempDir } from './helpers.js';

/** The tiny CLIP fixture model of the vision stack; the test waits for it to exist. */
const CLIP_DIR = 'fixtures/models/clip';
const available = existsSync(join(CLIP_DIR, 'config.json'));

describe.skipIf(!available)('soft-binding recovery with a CLIP embedding', () => {
  let workspace: { dir: string; cleanup: () => Promise<void> };
  let clip: ClipFingerprinter;
  let index: ProvenanceIndex;
  // Every 10th screening fixture: photo-like and generated images alike.
  const fixtures = globSync('fixtures/screen/{train,heldout}/**/*.{jpg,png}').sort().filter((_, i) => i % 10 === 0);

  beforeAll(async () => {
    workspace = await tempDir();
    clip = await loadClipFingerprinter(CLIP_DIR);
    index = ProvenanceIndex.open(join(workspace.dir, 'index.db'));
    const dev = await devCredentials(join(workspace.dir, 'keys'));
    for (const [i, fixture] of fixtures.entries()) {
      await signImage({ input: fixture, output: join(workspace.dir, `s${i}${fixture.slice(fixture.lastIndexOf('.'))}`), signer: dev.signer, index, clip });
    }
  }, 120_000);
  afterAll(async () => {
    index?.close();
    await clip?.release();
    await workspace.cleanup();
  });

  it('stores embeddings; a clean copy matches on pHash alone', async () => {
    expect(index.list().every((record) => record.hasClipEmbedding)).toBe(true);
    const signed = join(workspace.dir, `s2${fixtures[2].slice(fixtures[2].lastIndexOf('.'))}`);
    const copy = await sharp(await readFile(signed)).png().toBuffer();
    const lookup = await index.lookup(copy, { clip });
    expect(lookup.match).toMatchObject({ signedPath: signed, method: 'phash' });
  });

  it('recovers more off-center crops when CLIP corroborates a weaker pHash match, never a wrong one', async () => {
    let withoutClip = 0;
    let withClip = 0;
    for (let i = 0; i < fixtures.length; i++) {
      const original = join(workspace.dir, `s${i}${fixtures[i].slice(fixtures[i].lastIndexOf('.'))}`);
      const { width = 0, height = 0 } = await sharp(original).metadata();
      const corner = await sharp(original).extract({ left: 0, top: 0, width: Math.round(width * 0.9), height: Math.round(height * 0.9) }).jpeg({ quality: 70 }).toBuffer();
      const plain = await index.lookup(corner);
      const corroborated = await index.lookup(corner, { clip });
      for (const match of [plain.match, corroborated.match]) if (match) expect(match.signedPath).toBe(original);
      if (plain.match) withoutClip++;
      if (corroborated.match) {
        withClip++;
        if (corroborated.match.method === 'phash+clip') {
          expect(corroborated.match.similarity).toBeGreaterThanOrEqual(0.7);
          expect(corroborated.match.clipSimilarity).toBeGreaterThanOrEqual(0.97);
        }
      }
    }
    expect(withClip).toBeGreaterThanOrEqual(withoutClip);
    expect(withClip).toBeGreaterThan(0);
  });

  it.skipIf(!existsSync('fixtures/models/vit/config.json'))('refuses a model folder that is not CLIP', async () => {
    await expect(loadClipFingerprinter('fixtures/models/vit')).rejects.toThrow(/expected a CLIP model folder/);
  });
});
