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
  const fixtures = globSync('fixtures/screen/train/real/*.jpg').sort().slice(0, 6);

  beforeAll(async () => {
    workspace = await tempDir();
    clip = await loadClipFingerprinter(CLIP_DIR);
    index = ProvenanceIndex.open(join(workspace.dir, 'index.db'));
    const dev = await devCredentials(join(workspace.dir, 'keys'));
    for (const [i, fixture] of fixtures.entries()) await signImage({ input: fixture, output: join(workspace.dir, `s${i}.jpg`), signer: dev.signer, index, clip });
  }, 120_000);
  afterAll(async () => {
    index?.close();
    await clip?.release();
    await workspace.cleanup();
  });

  it('stores embeddings and finds a re-encoded copy by the stronger of pHash and CLIP evidence', async () => {
    const copy = await sharp(await readFile(join(workspace.dir, 's2.jpg'))).png().toBuffer();
    const lookup = await index.lookup(copy, { clip });
    expect(lookup.match?.signedPath).toBe(join(workspace.dir, 's2.jpg'));
    expect(['phash', 'clip']).toContain(lookup.match?.method);
  });

  it.skipIf(!existsSync('fixtures/models/vit/config.json'))('refuses a model folder that is not CLIP', async () => {
    await expect(loadClipFingerprinter('fixtures/models/vit')).rejects.toThrow(/expected a CLIP model folder/);
  });
});
