import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProvenanceResults } from '../../src/provenance/result.js';
import { runVigil, syntheticImage, tempDir, type CliRun } from './helpers.js';

/** Runs the CLI with HOME pointed at the workspace, so the default provenance index is a temp file. */
const vigil = (home: string, ...args: string[]): Promise<CliRun> => runVigil(['provenance', ...args], { HOME: home });

describe('vigil provenance CLI', () => {
  let workspace: { dir: string; cleanup: () => Promise<void> };
  const path = (name: string): string => join(workspace.dir, name);

  beforeAll(async () => {
    workspace = await tempDir();
    await writeFile(path('generated.jpg'), await syntheticImage(31));
    await writeFile(path('unrelated.png'), await syntheticImage(32, 'png'));
    await writeFile(path('notes.txt'), 'not an image');
  });
  afterAll(() => workspace.cleanup());

  it('keygen, sign, verify with a named trust list, then recover a stripped copy through the default index', async () => {
    const keygen = await vigil(workspace.dir, 'keygen', '--out', path('keys'), '--json');
    expect(keygen.code).toBe(0);
    expect(JSON.parse(keygen.stdout).files.signerChain).toBe(path('keys/signer.pem'));

    const sign = await vigil(
      workspace.dir,
      'sign', path('generated.jpg'), '--out', path('signed.jpg'),
      '--cert', path('keys/signer.pem'), '--key', path('keys/signer.key.pem'), '--generator', 'diffusion-x 2.1', '--json',
    );
    expect(sign.code, sign.stderr).toBe(0);
    const signResult = JSON.parse(sign.stdout) as { indexPath: string; indexRecordId: string };
    expect(signResult.indexPath).toBe(join(workspace.dir, '.vigil', 'provenance.db'));

    const listed = await vigil(workspace.dir, 'index', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).records).toEqual([
      expect.objectContaining({ id: signResult.indexRecordId, signedPath: path('signed.jpg'), format: 'image/jpeg', hasClipEmbedding: false }),
    ]);

    const verify = await vigil(workspace.dir, 'verify', path('signed.jpg'), '--trust-anchors', `dev=${path('keys/ca.pem')}`, '--json', '--out', path('report'));
    expect(verify.code, verify.stderr).toBe(0);
    const results = JSON.parse(verify.stdout) as ProvenanceResults;
    expect(results.schema).toBe('vigil/provenance');
    expect(results.files[0].state).toBe('Trusted');
    expect(results.trustLists).toEqual([{ name: 'dev', file: path('keys/ca.pem'), purpose: 'signer', format: 'pem', anchors: 1, allowed: 0, skipped: [] }]);
    expect(JSON.parse(await readFile(path('report/results.json'), 'utf8')).summary).toEqual(results.summary);
    expect(existsSync(path('report/report.html'))).toBe(true);
    // The report names the exact results.json bytes written beside it (what sha256sum prints).
    const digest = createHash('sha256').update(await readFile(path('report/results.json'))).digest('hex');
    expect(await readFile(path('report/report.html'), 'utf8')).toContain(`data-results-sha256="${digest}"`);

    const sharp = (await import('sharp')).default;
    await writeFile(path('stripped.webp'), await sharp(path('signed.jpg')).resize({ width: 120 }).webp().toBuffer());
    const text = await vigil(workspace.dir, 'verify', path('stripped.webp'));
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`matches signed original ${signResult.indexRecordId}`);
    expect(text.stdout).toContain('AI-GENERATED: trainedAlgorithmicMedia');
  }, 60_000);

  it('verifies a folder on engine workers, listing skipped files, and shows trust lists', async () => {
    const keys = await vigil(workspace.dir, 'keygen', '--out', path('folder-keys'));
    expect(keys.code, keys.stderr).toBe(0);
    await mkdir(path('folder/sub'), { recursive: true });
    for (const [i, name] of ['a.jpg', 'b.jpg', 'sub/c.jpg'].entries()) {
      await writeFile(path(`in-${i}.jpg`), await syntheticImage(40 + i));
      const signed = await vigil(workspace.dir, 'sign', path(`in-${i}.jpg`), '--out', path(`folder/${name}`), '--cert', path('folder-keys/signer.pem'), '--key', path('folder-keys/signer.key.pem'), '--no-index');
      expect(signed.code, signed.stderr).toBe(0);
    }
    await writeFile(path('folder/notes.txt'), 'not media');
    await writeFile(path('folder/sub/skip.jpg'), await syntheticImage(45));
    const run = await vigil(workspace.dir, 'verify', path('folder'), '--exclude', 'sub/skip.jpg', '--workers', '2', '--no-index', '--trust-anchors', `dev=${path('folder-keys/ca.pem')}`, '--json');
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as ProvenanceResults;
    expect(results.files.map((file) => [file.path.slice(path('folder').length + 1), file.state, file.disclosure?.level])).toEqual([
      ['a.jpg', 'Trusted', 'declared'],
      ['b.jpg', 'Trusted', 'declared'],
      ['sub/c.jpg', 'Trusted', 'declared'],
    ]);
    expect(results.skipped?.map((entry) => [entry.path.slice(path('folder').length + 1), entry.reason.split(' (')[0]])).toEqual([
      ['notes.txt', 'not a format c2pa-rs reads'],
      ['sub/skip.jpg', 'excluded by --exclude sub/skip.jpg'],
    ]);
    const trust = await vigil(workspace.dir, 'trust', '--trust-anchors', `dev=${path('folder-keys/ca.pem')}`);
    expect(trust.code, trust.stderr).toBe(0);
    expect(trust.stdout).toMatch(/^dev: signer trust list, PEM .*\n {2}1 anchor\(s\)/);
  }, 120_000);

  it('exits 1 on an Invalid file, 2 when a file cannot be verified, 0 for NoManifest unless required', async () => {
    const bytes = Buffer.from(await readFile(path('signed.jpg')));
    bytes[bytes.lastIndexOf(Buffer.from([0xff, 0xda])) + 60] ^= 1; // the image scan, not the thumbnail in the manifest
    await writeFile(path('tampered.jpg'), bytes);
    const invalid = await vigil(workspace.dir, 'verify', path('tampered.jpg'), path('notes.txt'), '--no-index');
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toContain('assertion.dataHash.mismatch');
    expect(invalid.stdout).toContain('unsupported format');

    const unreadable = await vigil(workspace.dir, 'verify', path('notes.txt'), path('unrelated.png'), '--json');
    expect(unreadable.code).toBe(2);
    const results = JSON.parse(unreadable.stdout) as ProvenanceResults;
    expect(results.files.map((file) => file.state ?? 'error')).toEqual(['error', 'NoManifest']);

    expect((await vigil(workspace.dir, 'verify', path('unrelated.png'))).code).toBe(0);
    expect((await vigil(workspace.dir, 'verify', path('unrelated.png'), '--require-manifest')).code).toBe(1);
  }, 60_000);

  it('answers bad arguments with exit 2 and a message naming the parameter', async () => {
    const badList = await vigil(workspace.dir, 'verify', path('unrelated.png'), '--trust-anchors', 'no-equals-sign');
    expect(badList.code).toBe(2);
    expect(badList.stderr).toContain('Expected name=file (name:');
    const noOut = await vigil(workspace.dir, 'sign', path('generated.jpg'), '--cert', 'c.pem', '--key', 'k.pem');
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain('for --out');
    const noIndex = await vigil(workspace.dir, 'index', '--index', path('nowhere.db'));
    expect(noIndex.code).toBe(2);
    expect(noIndex.stderr).toContain('no provenance index there yet');
    const badAlg = await vigil(workspace.dir, 'keygen', '--out', path('keys2'), '--alg', 'rs1');
    expect(badAlg.code).toBe(2);
    expect(badAlg.stderr).toMatch(/Expected one of es256.* for --alg but received "rs1"/);
  }, 60_000);
});
