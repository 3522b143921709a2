import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constants, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { coseSign1, reserveSizeFor, type SigningAlgorithm } from '../../src/provenance/cose.js';
import { signImage } from '../../src/provenance/sign.js';
import { verifyBytes } from '../../src/provenance/verify.js';
import { devCredentials, syntheticImage, tempDir, type DevCredentials } from './helpers.js';

// Independent of the module under test: our own CBOR settings and RFC 9052 Sig_structure.
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });

const CASES: { algorithm: SigningAlgorithm; coseId: number }[] = [
  { algorithm: 'es256', coseId: -7 },
  { algorithm: 'es384', coseId: -35 },
  { algorithm: 'ps256', coseId: -37 },
  { algorithm: 'ed25519', coseId: -8 },
  { algorithm: 'es512', coseId: -36 },
  { algorithm: 'ps384', coseId: -38 },
];

function verifyIndependently(algorithm: SigningAlgorithm, cert: X509Certificate, signed: Uint8Array, protectedHeader: Uint8Array, payload: Uint8Array): boolean {
  const toBeSigned = encoder.encode(['Signature1', protectedHeader, new Uint8Array(0), payload]);
  const key = cert.publicKey;
  if (algorithm === 'ed25519') return cryptoVerify(null, toBeSigned, key, signed);
  const digest = `sha${algorithm.slice(2)}`;
  if (algorithm.startsWith('es')) return cryptoVerify(digest, toBeSigned, { key, dsaEncoding: 'ieee-p1363' }, signed);
  // RFC 8230: PSS with MGF1 over the same hash and a salt as long as the hash.
  return cryptoVerify(digest, toBeSigned, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(algorithm.slice(2)) / 8 }, signed);
}

describe('COSE_Sign1 signer', () => {
  let workspace: { dir: string; cleanup: () => Promise<void> };
  const credentials = new Map<SigningAlgorithm, DevCredentials>();

  beforeAll(async () => {
    workspace = await tempDir();
    for (const { algorithm } of CASES) credentials.set(algorithm, await devCredentials(join(workspace.dir, algorithm), algorithm));
  });
  afterAll(() => workspace.cleanup());

  for (const { algorithm, coseId } of CASES) {
    it(`${algorithm}: tagged COSE_Sign1 with alg ${coseId}, x5chain, detached payload, verifiable signature, exact size`, () => {
      const { signer } = credentials.get(algorithm)!;
      const payload = new TextEncoder().encode(`claim bytes for ${algorithm}`);
      const size = reserveSizeFor(signer);
      const encoded = coseSign1(signer, payload, size);
      expect(encoded.length).toBe(size);

      const tagged = decoder.decode(encoded) as Tag;
      expect(tagged).toBeInstanceOf(Tag);
      expect(tagged.tag).toBe(18);
      const [protectedHeader, unprotected, detached, signature] = tagged.value as [Uint8Array, Map<unknown, unknown>, null, Uint8Array];
      expect(detached).toBeNull();
      expect(unprotected.get('pad')).toBeInstanceOf(Uint8Array);
      const header = decoder.decode(protectedHeader) as Map<number, unknown>;
      expect(header.get(1)).toBe(coseId);
      const x5chain = header.get(33);
      const leafDer = Array.isArray(x5chain) ? x5chain[0] : x5chain;
      expect(Buffer.from(leafDer as Uint8Array).equals(signer.chain[0].raw)).toBe(true);
      // IEEE P1363 r||s (fixed length), not DER.
      if (algorithm.startsWith('es')) expect(signature.length).toBe({ es256: 64, es384: 96, es512: 132 }[algorithm as 'es256' | 'es384' | 'es512']);

      expect(verifyIndependently(algorithm, signer.chain[0], signature, protectedHeader, payload)).toBe(true);
      const tampered = Uint8Array.from(payload);
      tampered[0] ^= 1;
      expect(verifyIndependently(algorithm, signer.chain[0], signature, protectedHeader, tampered)).toBe(false);
    });

    it(`${algorithm}: signed image reads back Valid through c2pa-rs, Trusted with the dev CA as anchor`, async () => {
      const { signer, trustList } = credentials.get(algorithm)!;
      const input = join(workspace.dir, `${algorithm}-in.jpg`);
      const output = join(workspace.dir, `${algorithm}-out.jpg`);
      await writeFile(input, await syntheticImage(1));
      const result = await signImage({ input, output, signer });
      expect(result.algorithm).toBe(algorithm);
      const bytes = await readFile(output);
      const plain = await verifyBytes(bytes, output);
      expect(plain.state).toBe('Valid');
      expect(plain.codes.failure.map((code) => code.code)).toEqual(['signingCredential.untrusted']);
      expect(plain.activeManifest?.signer?.algorithm).toBe(algorithm);
      const trusted = await verifyBytes(bytes, output, { trustLists: [trustList] });
      expect(trusted.state).toBe('Trusted');
      expect(trusted.codes.failure).toEqual([]);
    });
  }

  it('refuses a size too small for the signature', () => {
    const { signer } = credentials.get('es256')!;
    expect(() => coseSign1(signer, new Uint8Array(10), 100)).toThrow(/does not fit the 100 bytes/);
  });
});
