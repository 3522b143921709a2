/** Claim and ingredient thumbnails carried in the results (verify --thumbnails) and shown in the report's ingredient tree. */
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { sniffImageMime } from '../../src/core/image-format.js';
import { signImage } from '../../src/provenance/sign.js';
import { MAX_THUMBNAIL_BYTES, verifyPaths } from '../../src/provenance/verify.js';
import type { ProvenanceResults } from '../../src/provenance/result.js';
import { renderReport } from '../../src/report/render.js';
import { devWorkspace, syntheticImage } from './helpers.js';

describe('ingredient thumbnails', () => {
  const workspace = devWorkspace();

  async function editedFile(): Promise<string> {
    const { path, dev } = workspace;
    await writeFile(path('original.jpg'), await syntheticImage(41));
    await writeFile(path('component.png'), await syntheticImage(42, 'png'));
    await signImage({ input: path('original.jpg'), output: path('signed.jpg'), signer: dev.signer });
    // The signed original becomes the parent (its claim thumbnail is the ingredient thumbnail); the PNG has no manifest, so no thumbnail.
    await signImage({ input: path('component.png'), output: path('unused.png'), signer: dev.signer, thumbnail: false });
    await signImage({ input: path('signed.jpg'), output: path('edited.jpg'), signer: dev.signer, ingredients: [path('component.png')] });
    return path('edited.jpg');
  }

  it('carries them only when asked, as sniffed JPEG/PNG within the size cap, and the report shows them with each state', async () => {
    const edited = await editedFile();
    const trustLists = [workspace.dev.trustList];
    const plain = await verifyPaths([edited], { trustLists, quiet: true });
    expect(plain.files[0].activeManifest?.ingredients[0].thumbnail).toBeUndefined();
    expect(plain.files[0].activeManifest?.thumbnail).toBeUndefined();

    const results = await verifyPaths([edited], { trustLists, quiet: true, thumbnails: true });
    const manifest = results.files[0].activeManifest!;
    const [parent, component] = manifest.ingredients;
    expect(parent.relationship).toBe('parentOf');
    expect(parent.thumbnail?.mime).toBe('image/jpeg');
    const bytes = Buffer.from(parent.thumbnail!.base64, 'base64');
    expect(sniffImageMime(bytes)).toBe('image/jpeg');
    expect(bytes.length).toBe(parent.thumbnail!.bytes);
    expect(bytes.length).toBeLessThanOrEqual(MAX_THUMBNAIL_BYTES);
    expect(manifest.thumbnail?.mime).toBe('image/jpeg');
    expect(component.relationship).toBe('componentOf');
    expect(component.thumbnail).toBeUndefined();

    const html = await renderReport(results);
    const items = [...html.matchAll(/<li class="ingredient( with-thumbnail)?" data-state="([A-Za-z]+)">/g)].map((m) => [m[1] !== undefined, m[2]]);
    expect(items).toEqual([
      [true, parent.state],
      [false, component.state],
    ]);
    expect(html).toMatch(/<img class="ingredient-thumbnail" src="data:image\/jpeg;base64,(?:[A-Za-z0-9+/]|&#x3D;)+" width="\d+" height="\d+" alt="Thumbnail of ingredient signed\.jpg/);
  }, 60_000);

  it('never embeds inline bytes that are not a JPEG or PNG, and re-encodes those that are', async () => {
    const edited = await editedFile();
    const results = (await verifyPaths([edited], { quiet: true, thumbnails: true })) as ProvenanceResults;
    const parent = results.files[0].activeManifest!.ingredients[0];
    // A results document from elsewhere: markup posing as a thumbnail.
    parent.thumbnail = { mime: 'image/png', base64: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>').toString('base64'), bytes: 60 };
    const html = await renderReport(results);
    expect(html).not.toContain('<img class="ingredient-thumbnail"');
    expect(html).not.toContain('onload');
    expect(html).not.toContain(parent.thumbnail.base64);
  }, 60_000);
});
