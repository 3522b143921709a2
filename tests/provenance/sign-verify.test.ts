import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilInputError } from '../../src/core/errors.js';
import { sha256Hex } from '../../src/core/files.js';
import { loadSigningCredentials } from '../../src/provenance/credentials.js';
import { generateDevCredentials } from '../../src/provenance/keygen.js';
import type { FileVerification } from '../../src/provenance/result.js';
import { signImage } from '../../src/provenance/sign.js';
import { readProvenance, verifyBytes, verifyPaths } from '../../src/provenance/verify.js';
import { renderReport } from '../../src/report/render.js';
import { devCredentials, syntheticImage, tempDir, type DevCredentials, type ImageFormat } from './helpers.js';

const AI = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
const COMPOSITE_AI = 'http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia';
const HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes" \u202e';

describe('sign and verify', () => {
  let workspace: { dir: string; cleanup: () => Promise<void> };
  let dev: DevCredentials;
  const path = (name: string): string => join(workspace.dir, name);

  async function writeImage(name: string, seed: number, format: ImageFormat = 'jpeg'): Promise<string> {
    await writeFile(path(name), await syntheticImage(seed, format));
    return path(name);
  }

  beforeAll(async () => {
    workspace = await tempDir();
    dev = await devCredentials(path('keys'));
  });
  afterAll(() => workspace.cleanup());

  for (const format of ['jpeg', 'png', 'webp', 'tiff', 'gif', 'avif'] as const) {
    it(`round-trips ${format}: AI-generated manifest, Valid without anchors, Trusted with them, input untouched`, async () => {
      const extension = format === 'jpeg' ? 'jpg' : format;
      const input = await writeImage(`generated.${extension}`, 11, format);
      const before = sha256Hex(await readFile(input));
      const output = path(`signed.${extension}`);
      const signed = await signImage({ input, output, signer: dev.signer, generator: 'diffusion-x 2.1' });
      expect(signed.format).toBe(`image/${format}`);
      expect(signed.actions).toEqual([{ action: 'c2pa.created', digitalSourceType: AI }]);
      expect(sha256Hex(await readFile(input))).toBe(before);

      const bytes = await readFile(output);
      const valid = await verifyBytes(bytes, output);
      expect(valid.state).toBe('Valid');
      expect(valid.format).toBe(`image/${format}`);
      const manifest = valid.activeManifest!;
      expect(manifest.aiGenerated).toBe(true);
      expect(manifest.claimGeneratorInfo).toEqual([{ name: 'diffusion-x', version: '2.1' }]);
      expect(manifest.actions[0]).toMatchObject({ action: 'c2pa.created', softwareAgent: 'diffusion-x 2.1', digitalSourceType: { term: 'trainedAlgorithmicMedia', aiGenerated: true } });
      // ISO BMFF formats (AVIF) bind the content with a BMFF hash, the others with a data hash.
      const binding = format === 'avif' ? 'c2pa.hash.bmff.v3' : 'c2pa.hash.data';
      expect(manifest.assertions.map((assertion) => assertion.label).sort()).toEqual(['c2pa.actions.v2', 'c2pa.thumbnail.claim', binding].sort());
      expect(manifest.signer).toMatchObject({ subject: 'vigil development signer (untrusted)', issuer: 'vigil development CA (untrusted)', algorithm: 'es256', trustedBy: [] });
      expect(manifest.timestamp.status).toBe('none');

      const trusted = await verifyBytes(bytes, output, { trustLists: [dev.trustList] });
      expect(trusted.state).toBe('Trusted');
      expect(trusted.activeManifest?.signer?.trustedBy).toEqual(['dev']);
      expect(trusted.trustLists).toEqual([{ name: 'dev', trusted: true }]);
    });
  }

  it('signs concurrently and leaves no FileReaderSync stand-in on the global object', async () => {
    const inputs = await Promise.all([26, 27, 28].map((seed) => writeImage(`concurrent-${seed}.png`, seed, 'png')));
    const results = await Promise.all(inputs.map((input, i) => signImage({ input, output: path(`concurrent-out-${i}.png`), signer: dev.signer })));
    expect(results.map((result) => result.state)).toEqual(['Valid', 'Valid', 'Valid']);
    expect('FileReaderSync' in globalThis).toBe(false);
  });

  it('reports each named trust list separately', async () => {
    const other = await generateDevCredentials({ outDir: path('other-keys') });
    const { loadTrustList } = await import('../../src/provenance/trust.js');
    const otherList = await loadTrustList('interim', other.files.caCert);
    const output = path('two-lists.jpg');
    await signImage({ input: await writeImage('two-lists-in.jpg', 12), output, signer: dev.signer });
    const result = await verifyBytes(await readFile(output), output, { trustLists: [otherList, dev.trustList] });
    expect(result.state).toBe('Trusted');
    expect(result.trustLists).toEqual([
      { name: 'interim', trusted: false },
      { name: 'dev', trusted: true },
    ]);
    const onlyOther = await verifyBytes(await readFile(output), output, { trustLists: [otherList] });
    expect(onlyOther.state).toBe('Valid');
    expect(onlyOther.trustLists).toEqual([{ name: 'interim', trusted: false }]);
  });

  it('one flipped pixel byte makes the file Invalid with assertion.dataHash.mismatch', async () => {
    for (const format of ['jpeg', 'png', 'webp'] as const) {
      const output = path(`tamper.${format}`);
      await signImage({ input: await writeImage(`tamper-in.${format}`, 13, format), output, signer: dev.signer });
      const bytes = Buffer.from(await readFile(output));
      // A byte inside the compressed pixels: after the JPEG start-of-scan, inside PNG IDAT or WebP VP8 data.
      const marker = { jpeg: Buffer.from([0xff, 0xda]), png: Buffer.from('IDAT'), webp: Buffer.from('VP8') }[format];
      const at = bytes.lastIndexOf(marker) + 60; // last: the claim thumbnail inside the manifest is a JPEG too
      expect(at, format).toBeGreaterThan(60);
      bytes[at] ^= 0x01;
      const result = await verifyBytes(bytes, output);
      expect(result.state, format).toBe('Invalid');
      const mismatch = result.codes.failure.find((code) => code.code === 'assertion.dataHash.mismatch');
      expect(mismatch, format).toBeDefined();
      expect(mismatch?.explanation).toMatch(/also when the hash's exclusion range does not line up/);
      // vigil re-hashed the declared range and tells which cause applies: here, changed bytes.
      expect(mismatch?.finding, format).toMatch(/does not match the signed hash: bytes covered by the signature changed after signing/);
    }
  });

  it('records an edit of a signed parent: opened + edited (no AI source type unless declared), recursive ingredient tree', async () => {
    const parent = path('parent.signed.jpg');
    await signImage({ input: await writeImage('parent.jpg', 14), output: parent, signer: dev.signer, generator: 'diffusion-x 2.1' });
    const component = await writeImage('component.png', 15, 'png');
    const output = path('edited.jpg');
    const result = await signImage({ input: await writeImage('edited-in.jpg', 16), output, signer: dev.signer, parent, ingredients: [component], thumbnail: false });
    // An edit is never declared AI by default: only --source-type puts a source type on c2pa.edited.
    expect(result.actions).toEqual([{ action: 'c2pa.opened' }, { action: 'c2pa.edited' }, { action: 'c2pa.placed' }]);
    const verified = await verifyBytes(await readFile(output), output, { trustLists: [dev.trustList] });
    expect(verified.state).toBe('Trusted');
    expect(verified.activeManifest!.assertions.some((assertion) => assertion.label.startsWith('c2pa.thumbnail.claim'))).toBe(false);
    const [parentNode, componentNode] = verified.activeManifest!.ingredients;
    expect(parentNode).toMatchObject({ title: 'parent.signed.jpg', relationship: 'parentOf', state: 'Trusted' });
    expect(parentNode.manifest?.aiGenerated).toBe(true);
    expect(parentNode.manifest?.actions[0].digitalSourceType?.term).toBe('trainedAlgorithmicMedia');
    expect(componentNode).toMatchObject({ title: 'component.png', relationship: 'componentOf', state: 'NoManifest' });
    expect(verified.manifestCount).toBe(2);
    // The AI declaration sits only in the parent's manifest: disclosed at the ingredient level, naming it.
    expect(verified.disclosure).toMatchObject({ level: 'containsAiIngredient' });
    expect(verified.disclosure?.evidence[0].via).toEqual(['parent.signed.jpg']);
    const declared = await signImage({ input: await writeImage('edited-ai-in.jpg', 17), output: path('edited-ai.jpg'), signer: dev.signer, parent, sourceType: 'compositeWithTrainedAlgorithmicMedia', thumbnail: false });
    expect(declared.actions[1]).toEqual({ action: 'c2pa.edited', digitalSourceType: COMPOSITE_AI });
  });

  it('refuses to sign over an Invalid parent unless --allow-invalid-parent, and then says so', async () => {
    const parent = path('bad-parent.jpg');
    await signImage({ input: await writeImage('bad-parent-in.jpg', 18), output: parent, signer: dev.signer });
    const bytes = Buffer.from(await readFile(parent));
    bytes[bytes.lastIndexOf(Buffer.from([0xff, 0xda])) + 60] ^= 0x01;
    await writeFile(parent, bytes);
    const input = await writeImage('over-bad-in.jpg', 19);
    await expect(signImage({ input, output: path('over-bad.jpg'), signer: dev.signer, parent, thumbnail: false })).rejects.toThrow(
      /bad-parent\.jpg has Invalid Content Credentials \(assertion\.dataHash\.mismatch\); .* pass --allow-invalid-parent/,
    );
    const result = await signImage({ input, output: path('over-bad.jpg'), signer: dev.signer, parent, allowInvalidParent: true, thumbnail: false });
    expect(result.warnings.join(' ')).toMatch(/signed anyway \(--allow-invalid-parent\)/);
    const verified = await verifyBytes(await readFile(path('over-bad.jpg')), 'over-bad.jpg');
    expect(verified.activeManifest?.ingredients[0].state).toBe('Invalid');
  });

  it('keeps the history of an input that already carries Content Credentials (it becomes the parent)', async () => {
    const first = path('history-1.jpg');
    const firstResult = await signImage({ input: await writeImage('history-in.jpg', 25), output: first, signer: dev.signer, generator: 'diffusion-x 2.1' });
    expect(firstResult.parentFromInput).toBe(false);
    const second = path('history-2.jpg');
    const secondResult = await signImage({ input: first, output: second, signer: dev.signer });
    expect(secondResult.parentFromInput).toBe(true);
    expect(secondResult.actions.map((action) => action.action)).toEqual(['c2pa.opened', 'c2pa.edited']);
    const verified = await verifyBytes(await readFile(second), second);
    expect(verified.state).toBe('Valid');
    expect(verified.manifestCount).toBe(2);
    const [parentNode] = verified.activeManifest!.ingredients;
    expect(parentNode).toMatchObject({ title: 'history-1.jpg', relationship: 'parentOf', state: 'Valid' });
    expect(parentNode.manifest?.claimGeneratorInfo[0].name).toBe('diffusion-x');
  });

  it('adds custom assertions and accepts a c2patool manifest definition', async () => {
    const screening = path('screening.json');
    await writeFile(screening, JSON.stringify({ label: 'org.vigil.screening', data: { verdict: 'synthetic', score: 0.97 } }));
    const manifest = path('manifest.json');
    await writeFile(
      manifest,
      JSON.stringify({
        title: 'Campaign visual',
        claim_generator_info: [{ name: 'studio-tool', version: '3.0' }],
        assertions: [{ label: 'stds.schema-org.CreativeWork', data: { '@context': 'https://schema.org', '@type': 'CreativeWork', author: [{ '@type': 'Organization', name: 'Example' }] } }],
      }),
    );
    const output = path('custom.jpg');
    await signImage({ input: await writeImage('custom-in.jpg', 17), output, signer: dev.signer, manifestFile: manifest, assertionFiles: [screening] });
    const verified = await verifyBytes(await readFile(output), output);
    expect(verified.state).toBe('Valid');
    const summary = verified.activeManifest!;
    expect(summary.title).toBe('Campaign visual');
    expect(summary.claimGeneratorInfo[0]).toEqual({ name: 'studio-tool', version: '3.0' });
    expect(summary.assertions.find((assertion) => assertion.label === 'org.vigil.screening')?.data).toEqual({ verdict: 'synthetic', score: 0.97 });
    expect(summary.assertions.some((assertion) => assertion.label === 'stds.schema-org.CreativeWork')).toBe(true);
  });

  it('refuses signer fields and reserved labels in user manifests', async () => {
    const manifest = path('with-key.json');
    await writeFile(manifest, JSON.stringify({ private_key: 'key.pem' }));
    const input = await writeImage('refuse-in.jpg', 18);
    await expect(signImage({ input, output: path('refused.jpg'), signer: dev.signer, manifestFile: manifest })).rejects.toThrow(/field "private_key" configures the signer/);
    const reserved = path('reserved.json');
    await writeFile(reserved, JSON.stringify({ label: 'c2pa.hash.data', data: {} }));
    await expect(signImage({ input, output: path('refused.jpg'), signer: dev.signer, assertionFiles: [reserved] })).rejects.toThrow(/written by the signer itself/);
    expect(existsSync(path('refused.jpg'))).toBe(false);
  });

  it('keeps hostile manifest strings verbatim as data and escapes them in the report', async () => {
    const output = path('hostile.jpg');
    await signImage({ input: await writeImage('hostile-in.jpg', 19), output, signer: dev.signer, title: HOSTILE, generator: `${HOSTILE} 1.0` });
    const results = await verifyPaths([output], { quiet: true });
    const manifest = results.files[0].activeManifest!;
    expect(manifest.title).toBe(HOSTILE);
    expect(manifest.claimGeneratorInfo[0].name).toBe(HOSTILE);
    expect(JSON.parse(JSON.stringify(results)).files[0].activeManifest.title).toBe(HOSTILE);
    const html = await renderReport(results);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;');
  });

  it('refuses to overwrite the input without --in-place, and signs in place with it', async () => {
    const input = await writeImage('inplace.jpg', 20);
    await expect(signImage({ input, output: input, signer: dev.signer })).rejects.toThrow(/is the input file; pass --in-place/);
    await signImage({ input, output: input, inPlace: true, signer: dev.signer });
    expect((await verifyBytes(await readFile(input), input)).state).toBe('Valid');
  });

  it('refuses to write a signed image that does not validate (never replacing the input in place)', async () => {
    const other = await generateDevCredentials({ outDir: path('mismatch-keys') });
    const otherSigner = await loadSigningCredentials({ certPath: other.files.signerChain, keyPath: other.files.signerKey });
    // A signer whose chain does not belong to its key: bypasses the pre-sign checks on purpose.
    const broken = { ...dev.signer, key: otherSigner.key };
    const output = path('broken.jpg');
    await expect(signImage({ input: await writeImage('broken-in.jpg', 21), output, signer: broken })).rejects.toThrow(/broken-in\.jpg: signing failed: c2pa-rs rejected the signed manifest: claimSignature\.mismatch$/);
    expect(existsSync(output)).toBe(false);
    // In place, the bad signature is caught before anything is written: the input stays as it was.
    const input = await writeImage('broken-in-place.jpg', 22);
    const before = sha256Hex(await readFile(input));
    await expect(signImage({ input, output: input, inPlace: true, signer: broken })).rejects.toThrow(VigilInputError);
    expect(sha256Hex(await readFile(input))).toBe(before);
  });

  it('gives errors, not crashes, for truncated and mutated manifests, and names unsupported formats', async () => {
    const output = path('truncate.jpg');
    await signImage({ input: await writeImage('truncate-in.jpg', 22), output, signer: dev.signer });
    const bytes = await readFile(output);
    const outcomes: FileVerification[] = [];
    for (const cut of [0.02, 0.05, 0.1, 0.3, 0.6]) outcomes.push(await verifyBytes(bytes.subarray(0, Math.floor(bytes.length * cut)), `cut-${cut}`));
    const jumbf = bytes.indexOf(Buffer.from('jumb'));
    for (const offset of [8, 40, 120, 400]) {
      const mutated = Buffer.from(bytes);
      mutated[jumbf + offset] ^= 0xff;
      outcomes.push(await verifyBytes(mutated, `mutated-${offset}`));
    }
    for (const outcome of outcomes) {
      expect(outcome.state, outcome.path).toBeDefined();
      expect(outcome.state, outcome.path).not.toBe('Trusted');
      if (outcome.state === 'Invalid') expect(outcome.codes.failure.length, outcome.path).toBeGreaterThan(0);
    }
    expect(outcomes.some((outcome) => outcome.state === 'Invalid')).toBe(true);
    const bmp = Buffer.from('BM6\x00\x00\x00\x00\x00\x00\x006\x00\x00\x00', 'latin1');
    await expect(verifyBytes(bmp, 'scan.bmp')).rejects.toThrow(/scan\.bmp: unsupported format: not a format c2pa-rs reads .*image\/jpeg, image\/png, image\/webp/);
    const results = await verifyPaths([path('missing.jpg')], { quiet: true });
    expect(results.files[0].error).toMatch(/ENOENT/);
    expect(results.summary.errors).toBe(1);
  });

  it('readProvenance gives the screening signal the digitalSourceType of a file', async () => {
    const output = path('digest.png');
    await signImage({ input: await writeImage('digest-in.png', 23, 'png'), output, signer: dev.signer, sourceType: 'algorithmicMedia' });
    expect(await readProvenance(await readFile(output))).toEqual({
      state: 'Valid',
      digitalSourceTypes: ['http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia'],
      aiGenerated: true,
      disclosureLevel: 'declared',
      claimGenerator: expect.stringMatching(/^vigil \d/),
    });
    expect(await readProvenance(await syntheticImage(24))).toEqual({ state: 'NoManifest', digitalSourceTypes: [], aiGenerated: false, disclosureLevel: 'none' });
  });
});
