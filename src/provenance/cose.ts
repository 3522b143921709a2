import { sign as cryptoSign, constants, type KeyObject, type X509Certificate } from 'node:crypto';
import { Encoder, Tag } from 'cbor-x';

/**
 * COSE_Sign1 (RFC 9052) for C2PA claim signatures: protected header with the algorithm and the
 * signer's certificate chain (x5chain, RFC 9360), detached payload (the claim), signature over
 * the Sig_structure. ECDSA signatures are in IEEE P1363 form (r || s) as COSE requires, not DER.
 */

/** COSE algorithm identifiers (IANA "COSE Algorithms") of the algorithms C2PA allows for claim signatures. */
export const COSE_ALGORITHMS = {
  es256: { coseId: -7, keyType: 'ec', curve: 'prime256v1', digest: 'sha256' },
  es384: { coseId: -35, keyType: 'ec', curve: 'secp384r1', digest: 'sha384' },
  es512: { coseId: -36, keyType: 'ec', curve: 'secp521r1', digest: 'sha512' },
  ps256: { coseId: -37, keyType: 'rsa', curve: undefined, digest: 'sha256' },
  ps384: { coseId: -38, keyType: 'rsa', curve: undefined, digest: 'sha384' },
  ps512: { coseId: -39, keyType: 'rsa', curve: undefined, digest: 'sha512' },
  ed25519: { coseId: -8, keyType: 'ed25519', curve: undefined, digest: null },
} as const;

export type SigningAlgorithm = keyof typeof COSE_ALGORITHMS;

export const SIGNING_ALGORITHMS = Object.keys(COSE_ALGORITHMS) as SigningAlgorithm[];

export function isSigningAlgorithm(value: string): value is SigningAlgorithm {
  return Object.hasOwn(COSE_ALGORITHMS, value);
}

/** COSE header labels (RFC 9052 section 3.1, RFC 9360). */
export const HEADER = { alg: 1, contentType: 3, x5chain: 33 } as const;
const COSE_SIGN1_TAG = 18;

const cbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true });

function encodeCbor(value: unknown): Buffer {
  return cbor.encode(value);
}

/** The bytes a COSE_Sign1 signature covers: Sig_structure = ["Signature1", protected, external_aad, payload]. */
export function sigStructure(protectedHeader: Uint8Array, payload: Uint8Array): Buffer {
  return encodeCbor(['Signature1', protectedHeader, new Uint8Array(0), payload]);
}

/** Signs raw bytes the way COSE expects for the algorithm (P1363 ECDSA, PSS with salt = digest length). */
export function signBytes(algorithm: SigningAlgorithm, key: KeyObject, data: Uint8Array): Buffer {
  const spec = COSE_ALGORITHMS[algorithm];
  if (spec.keyType === 'ec') return cryptoSign(spec.digest, data, { key, dsaEncoding: 'ieee-p1363' });
  if (spec.keyType === 'rsa') {
    return cryptoSign(spec.digest, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  }
  return cryptoSign(null, data, key);
}

export interface CoseSigner {
  algorithm: SigningAlgorithm;
  /** Leaf first, then intermediates (the trust anchor itself is not included, as C2PA recommends). */
  chain: readonly X509Certificate[];
  key: KeyObject;
}

/** Bytes to reserve in the manifest for the signature: chain + signature + headers, with room for the pad header. */
export function reserveSizeFor(signer: CoseSigner): number {
  const chainBytes = signer.chain.reduce((sum, cert) => sum + cert.raw.length, 0);
  return chainBytes + 1024 + 1024;
}

/** The COSE_Sign1 parts that a time-stamp countersigns (C2PA v2 time-stamps, `sigTst2`). */
export interface CoseSignatureParts {
  protectedHeader: Buffer;
  signature: Buffer;
}

/**
 * The bytes a C2PA v2 time-stamp (sigTst2) covers: a COSE countersignature structure
 * ["CounterSignature", protected, external_aad, payload] whose payload is the claim signature
 * encoded as a CBOR byte string (C2PA 2.x section "Time-stamps"; as c2pa-rs computes it).
 */
export function timestampInput(parts: CoseSignatureParts): Buffer {
  return encodeCbor(['CounterSignature', parts.protectedHeader, new Uint8Array(0), encodeCbor(parts.signature)]);
}

/** Returns an RFC 3161 TimeStampToken (DER ContentInfo) for the given bytes. */
export type TimestampProvider = (data: Uint8Array) => Promise<Uint8Array>;

function signParts(signer: CoseSigner, payload: Uint8Array, extraHeaders: ReadonlyMap<number, unknown> = new Map()): CoseSignatureParts {
  const x5chain = signer.chain.length === 1 ? signer.chain[0].raw : signer.chain.map((cert) => cert.raw);
  const protectedHeader = encodeCbor(
    new Map<number, unknown>([
      [HEADER.alg, COSE_ALGORITHMS[signer.algorithm].coseId],
      ...extraHeaders,
      [HEADER.x5chain, x5chain],
    ]),
  );
  return { protectedHeader, signature: signBytes(signer.algorithm, signer.key, sigStructure(protectedHeader, payload)) };
}

/**
 * Encodes the parts as a tagged COSE_Sign1 (detached payload), padded through the unprotected
 * `pad` header so the encoding is exactly `size` bytes: c2pa-rs reserves that many bytes in the
 * manifest before signing and any other length invalidates the data hash it already computed.
 */
function encodeSign1(parts: CoseSignatureParts, size: number | undefined, timestampToken?: Uint8Array): Buffer {
  const encode = (padLength: number): Buffer => {
    const unprotected = new Map<string, unknown>();
    if (timestampToken) unprotected.set('sigTst2', new Map([['tstTokens', [new Map([['val', timestampToken]])]]]));
    unprotected.set('pad', new Uint8Array(padLength));
    return encodeCbor(new Tag([parts.protectedHeader, unprotected, null, parts.signature], COSE_SIGN1_TAG));
  };
  if (size === undefined) return encode(0);
  let padLength = Math.max(0, size - encode(0).length);
  // The pad's own length header grows at 24, 256 and 65536 bytes, so converge in a few steps.
  for (let attempt = 0; attempt < 4; attempt++) {
    const encoded = encode(padLength);
    if (encoded.length === size) return encoded;
    padLength -= encoded.length - size;
    if (padLength < 0) break;
  }
  throw new Error(`COSE signature does not fit the ${size} bytes reserved for it`);
}

/** A tagged COSE_Sign1 over `payload` (detached), exactly `size` bytes when given. */
export function coseSign1(signer: CoseSigner, payload: Uint8Array, size?: number): Buffer {
  return encodeSign1(signParts(signer, payload), size);
}

/** A tagged COSE_Sign1 over `payload` (detached) with further protected headers (e.g. content type), unpadded. */
export function coseSign1WithHeaders(signer: CoseSigner, payload: Uint8Array, headers: ReadonlyMap<number, unknown>): Buffer {
  return encodeSign1(signParts(signer, payload, headers), undefined);
}

/** Bytes reserved for an RFC 3161 time-stamp token in the signature (c2pa-rs reserves 10000 too). */
export const TIMESTAMP_RESERVE = 10_000;

/** A COSE_Sign1 carrying an RFC 3161 time-stamp of its signature in the `sigTst2` header. */
export async function coseSign1Timestamped(signer: CoseSigner, payload: Uint8Array, size: number, timestamp: TimestampProvider): Promise<Buffer> {
  const parts = signParts(signer, payload);
  const token = await timestamp(timestampInput(parts));
  return encodeSign1(parts, size, token);
}
