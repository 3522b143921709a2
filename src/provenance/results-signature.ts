import { constants, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import { Decoder, Tag } from 'cbor-x';
import { sha256Hex } from '../core/files.js';
import { COSE_ALGORITHMS, coseSign1WithHeaders, HEADER, sigStructure, type CoseSigner, type SigningAlgorithm } from './cose.js';
import type { TrustList } from './trust.js';

/**
 * Signed audit results: a detached COSE_Sign1 (RFC 9052) over the exact bytes of a results.json,
 * made with the same signer code as C2PA claims (algorithm and x5chain in the protected header,
 * content type application/json). A legal team can then show the JSON an audit report was made
 * from is the one that was signed, and by whom.
 */

export const RESULTS_CONTENT_TYPE = 'application/json';

/** A detached COSE_Sign1 over the results bytes. */
export function signResults(signer: CoseSigner, results: Uint8Array): Buffer {
  return coseSign1WithHeaders(signer, results, new Map([[HEADER.contentType, RESULTS_CONTENT_TYPE]]));
}

export interface ResultsSignatureCheck {
  /** The signature is mathematically valid over these exact bytes. */
  signatureValid: boolean;
  algorithm?: SigningAlgorithm;
  /** Leaf certificate subject (one line). */
  signer?: string;
  signerNotAfter?: string;
  /** sha256 of the results bytes that were checked. */
  sha256: string;
  /** Names of the signer trust lists the signer chains to (or is pinned in). */
  trustedBy: string[];
  /** Why the check failed, in words; absent when the signature is valid. */
  problem?: string;
}

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

function decodeSign1(bytes: Uint8Array): { protectedBytes: Uint8Array; signature: Uint8Array; headers: Map<unknown, unknown> } {
  let value = decoder.decode(bytes) as unknown;
  if (value instanceof Tag) value = value.value;
  if (!Array.isArray(value) || value.length !== 4) throw new Error('not a COSE_Sign1 structure (expected a 4-element array)');
  const [protectedBytes, , payload, signature] = value as [unknown, unknown, unknown, unknown];
  if (!(protectedBytes instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw new Error('COSE_Sign1 protected header or signature is not a byte string');
  if (payload !== null && payload !== undefined) throw new Error('expected a detached payload (the results file itself)');
  const headers = decoder.decode(protectedBytes) as unknown;
  if (!(headers instanceof Map)) throw new Error('COSE protected header is not a map');
  return { protectedBytes, signature, headers };
}

function algorithmOf(id: unknown): SigningAlgorithm | undefined {
  return (Object.keys(COSE_ALGORITHMS) as SigningAlgorithm[]).find((name) => COSE_ALGORITHMS[name].coseId === id);
}

function verifySignature(algorithm: SigningAlgorithm, certificate: X509Certificate, data: Uint8Array, signature: Uint8Array): boolean {
  const spec = COSE_ALGORITHMS[algorithm];
  const key = certificate.publicKey;
  if (spec.keyType === 'ec') return cryptoVerify(spec.digest, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (spec.keyType === 'rsa') return cryptoVerify(spec.digest, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
  return cryptoVerify(null, data, key, signature);
}

function validAt(certificate: X509Certificate, when: Date): boolean {
  return new Date(certificate.validFrom) <= when && when <= new Date(certificate.validTo);
}

/** Whether `leaf` (with the intermediates of its chain) chains to an anchor of the list, or is pinned in it, at `when`. */
export function chainsTo(leaf: X509Certificate, intermediates: readonly X509Certificate[], list: TrustList, when: Date): boolean {
  if (list.allowed.some((cert) => cert.fingerprint256 === leaf.fingerprint256)) return validAt(leaf, when);
  let current = leaf;
  const pool = [...intermediates];
  for (let depth = 0; depth <= intermediates.length; depth++) {
    if (!validAt(current, when)) return false;
    const anchor = list.anchors.find((candidate) => current.checkIssued(candidate) && current.verify(candidate.publicKey));
    if (anchor) return validAt(anchor, when);
    const next = pool.findIndex((candidate) => candidate.ca && current.checkIssued(candidate) && current.verify(candidate.publicKey));
    if (next === -1) return false;
    [current] = pool.splice(next, 1);
  }
  return false;
}

/** Checks a detached COSE_Sign1 against the results bytes and, for trust, against the signer trust lists. */
export function verifyResultsSignature(results: Uint8Array, cose: Uint8Array, lists: readonly TrustList[], now = new Date()): ResultsSignatureCheck {
  const sha256 = sha256Hex(results);
  let decoded: ReturnType<typeof decodeSign1>;
  try {
    decoded = decodeSign1(cose);
  } catch (error) {
    return { signatureValid: false, sha256, trustedBy: [], problem: `the signature file is not a COSE_Sign1: ${(error as Error).message}` };
  }
  const algorithm = algorithmOf(decoded.headers.get(HEADER.alg));
  if (algorithm === undefined) return { signatureValid: false, sha256, trustedBy: [], problem: `unsupported COSE algorithm ${String(decoded.headers.get(HEADER.alg))}` };
  const x5chain = decoded.headers.get(HEADER.x5chain);
  const raw = x5chain instanceof Uint8Array ? [x5chain] : Array.isArray(x5chain) ? (x5chain as unknown[]) : [];
  let chain: X509Certificate[];
  try {
    chain = raw.map((der) => new X509Certificate(Buffer.from(der as Uint8Array)));
  } catch {
    return { signatureValid: false, algorithm, sha256, trustedBy: [], problem: 'the x5chain header holds an invalid certificate' };
  }
  if (chain.length === 0) return { signatureValid: false, algorithm, sha256, trustedBy: [], problem: 'no signer certificate (x5chain) in the signature' };
  const [leaf, ...intermediates] = chain;
  const signer = leaf.subject.replace(/\n/g, ', ');
  const signatureValid = verifySignature(algorithm, leaf, sigStructure(decoded.protectedBytes, results), decoded.signature);
  const base = { algorithm, signer, signerNotAfter: leaf.validTo, sha256 };
  if (!signatureValid) {
    return { ...base, signatureValid, trustedBy: [], problem: 'the signature does not match these results: the file was changed after signing, or the signature belongs to another file' };
  }
  const trustedBy = lists.filter((list) => list.purpose === 'signer' && chainsTo(leaf, intermediates, list, now)).map((list) => list.name);
  return { ...base, signatureValid, trustedBy };
}
