import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { signResults, verifyResultsSignature } from '../../src/provenance/results-signature.js';
import { loadTrustList } from '../../src/provenance/trust.js';
import { devCredentials, runVigil, tempDir, type DevCredentials } from './helpers.js';

/** `vigil results sign|verify`: detached COSE_Sign1 over a results.json, checked against trust lists. */

const vigil = (...args: string[]) => runVigil(['results', ...args]);

describe('signed audit results', () => {
  let workspace: { dir: string; cleanup: () => Promise<void> };
  let dev: DevCredentials;
  let other: DevCredentials;
  const path = (name: string): string => join(workspace.dir, name);
  const results = Buffer.from(`${JSON.stringify({ schema: 'vigil/provenance', summary: { files: 3, invalid: 1 } }, null, 2)}\n`);

  beforeAll(async () => {
    workspace = await tempDir();
    dev = await devCredentials(path('keys'));
    other = await devCredentials(path('other-keys'), 'ed25519');
  });
  afterAll(() => workspace.cleanup());

  it('verifies the exact bytes and names the trust list; any change or another signer fails', async () => {
    const signature = signResults(dev.signer, results);
    const ok = verifyResultsSignature(results, signature, [dev.trustList]);
    expect(ok).toMatchObject({ signatureValid: true, algorithm: 'es256', trustedBy: ['dev'] });
    expect(ok.sha256).toMatch(/^[0-9a-f]{64}$/);
    const altered = Buffer.from(results.toString('utf8').replace('"invalid": 1', '"invalid": 0'));
    const tampered = verifyResultsSignature(altered, signature, [dev.trustList]);
    expect(tampered.signatureValid).toBe(false);
    expect(tampered.problem).toMatch(/changed after signing/);
    const otherList = await loadTrustList('other', other.keygen.files.caCert);
    expect(verifyResultsSignature(results, signature, [otherList]).trustedBy).toEqual([]);
    const edSignature = signResults(other.signer, results);
    expect(verifyResultsSignature(results, edSignature, [otherList, dev.trustList])).toMatchObject({ signatureValid: true, algorithm: 'ed25519', trustedBy: ['other'] });
    expect(verifyResultsSignature(results, Buffer.from('not cbor at all'), []).problem).toMatch(/not a COSE_Sign1/);
  });

  it('vigil results sign writes <results>.cose; verify exits 0 when intact and trusted, 1 when altered', async () => {
    await writeFile(path('results.json'), results);
    const signed = await vigil('sign', path('results.json'), '--cert', dev.keygen.files.signerChain, '--key', dev.keygen.files.signerKey);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/signed .*results\.json \(sha256 [0-9a-f]{64}\)/);
    const verified = await vigil('verify', path('results.json'), '--trust-anchors', `dev=${dev.keygen.files.caCert}`);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/signature valid: these exact bytes were signed by .*\n {2}signer trusted by: dev/);
    await writeFile(path('results.json'), (await readFile(path('results.json'), 'utf8')).replace('3', '4'));
    const altered = await vigil('verify', path('results.json'), '--trust-anchors', `dev=${dev.keygen.files.caCert}`);
    expect(altered.code).toBe(1);
    expect(altered.stdout).toMatch(/INVALID: the signature does not match these results/);
  }, 60_000);
});
