import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { crJsonBytes, rehashDataHash } from '../../src/provenance/hard-binding.js';
import { verifyFile } from '../../src/provenance/verify.js';
import { CONFORMANCE_DIR } from './helpers.js';

/** vigil's own re-hash of a data-hash binding, which tells the causes of assertion.dataHash.mismatch apart. */

describe('data-hash re-hash', () => {
  const asset = Buffer.from('0123456789abcdefghij');
  const outside = Buffer.concat([asset.subarray(0, 5), asset.subarray(9)]);
  const signed = createHash('sha256').update(outside).digest();

  it('hashes everything outside the exclusions, and refuses ranges it cannot apply', () => {
    expect(rehashDataHash(asset, { alg: 'sha256', hash: signed, exclusions: [{ start: 5, length: 4 }] })).toEqual({ match: true, alg: 'sha256', coveredBytes: 16, excludedBytes: 4 });
    // Bytes inside the exclusion may change without notice; bytes outside may not.
    const insideChanged = Buffer.from(asset);
    insideChanged[6] ^= 1;
    expect(rehashDataHash(insideChanged, { hash: signed, exclusions: [{ start: 5, length: 4 }] })?.match).toBe(true);
    const outsideChanged = Buffer.from(asset);
    outsideChanged[12] ^= 1;
    expect(rehashDataHash(outsideChanged, { hash: signed, exclusions: [{ start: 5, length: 4 }] })?.match).toBe(false);
    expect(rehashDataHash(asset, { hash: signed, exclusions: [{ start: 5, length: 4 }, { start: 7, length: 2 }] })).toBeUndefined();
    expect(rehashDataHash(asset, { hash: signed, exclusions: [{ start: 18, length: 4 }] })).toBeUndefined();
    expect(rehashDataHash(asset, { alg: 'md5', hash: signed, exclusions: [] })).toBeUndefined();
    expect(crJsonBytes("b64'AAEC'")).toEqual(Buffer.from([0, 1, 2]));
  });

  it.skipIf(!existsSync(join(CONFORMANCE_DIR, 'XCA.jpg')))('says which cause applies on c2pa-rs fixtures: XCA.jpg changed inside the covered range', async () => {
    const xca = await verifyFile(join(CONFORMANCE_DIR, 'XCA.jpg'));
    const mismatch = xca.codes.failure.find((code) => code.code === 'assertion.dataHash.mismatch');
    expect(mismatch?.finding).toMatch(/re-hashed the declared range \(25492 bytes, sha256\) and it does not match/);
    // An intact fixture re-hashes to its signed value (no mismatch is reported at all).
    const intact = await verifyFile(join(CONFORMANCE_DIR, 'C.jpg'));
    expect(intact.codes.failure.map((code) => code.code)).not.toContain('assertion.dataHash.mismatch');
  });
});
