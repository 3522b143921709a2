import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { invalidArgument, VigilInputError } from '../core/errors.js';
import { MAX_CONFIG_BYTES, readInputFile } from '../core/files.js';
import { COSE_ALGORITHMS, SIGNING_ALGORITHMS, isSigningAlgorithm, type CoseSigner, type SigningAlgorithm } from './cose.js';
import { parsePemCertificates } from './trust.js';
import { CLAIM_SIGNING_EKUS, OID, readCertificateExtensions } from './x509.js';

/**
 * Loading and checking signing credentials before anything is signed. Every check answers with a
 * message naming the file and what is wrong; no message ever contains key material (errors from
 * node:crypto are summarized, never passed through with their input).
 */

export const DEFAULT_PASSPHRASE_ENV = 'VIGIL_KEY_PASSPHRASE';

export interface CredentialPaths {
  certPath: string;
  keyPath: string;
  /** Requested algorithm; inferred from the key when absent. */
  algorithm?: string;
  /** Environment variable holding the passphrase of an encrypted key. */
  passphraseEnv?: string;
  /** For tests: the time the certificate must be valid at. */
  now?: Date;
}

async function readText(path: string, what: string): Promise<string> {
  return (await readInputFile(path, { what, maxBytes: MAX_CONFIG_BYTES })).toString('utf8');
}

function loadPrivateKey(pem: string, keyPath: string, passphraseEnv: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new VigilInputError(`--key ${keyPath}: not a PEM private key (expected -----BEGIN PRIVATE KEY----- or EC/RSA/ENCRYPTED PRIVATE KEY)`, {
      subject: keyPath,
    });
  }
  const encrypted = pem.includes('ENCRYPTED PRIVATE KEY') || pem.includes('Proc-Type: 4,ENCRYPTED');
  const passphrase = process.env[passphraseEnv];
  if (encrypted && (passphrase === undefined || passphrase === '')) {
    throw new VigilInputError(`--key ${keyPath}: the key is encrypted; set its passphrase in the environment variable ${passphraseEnv}`, {
      subject: keyPath,
    });
  }
  try {
    return createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase } : { key: pem, format: 'pem' });
  } catch {
    // node:crypto's message is not echoed: it can quote the input for some malformed keys.
    throw new VigilInputError(
      encrypted
        ? `--key ${keyPath}: cannot decrypt the key with the passphrase in ${passphraseEnv}`
        : `--key ${keyPath}: cannot parse the private key (PKCS#8 or SEC1/PKCS#1 PEM expected)`,
      { subject: keyPath },
    );
  }
}

/** The algorithm a key can sign with: the requested one after checking it fits, or the natural one. */
export function algorithmForKey(key: KeyObject, requested: string | undefined, keyPath: string): SigningAlgorithm {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const describe = type === 'ec' ? `an EC ${curve} key` : `a ${type} key`;
  const fits = (algorithm: SigningAlgorithm): boolean => {
    const spec = COSE_ALGORITHMS[algorithm];
    if (spec.keyType === 'ec') return type === 'ec' && curve === spec.curve;
    if (spec.keyType === 'rsa') return type === 'rsa' || type === 'rsa-pss';
    return type === 'ed25519';
  };
  if (requested !== undefined) {
    const normalized = requested.toLowerCase();
    if (!isSigningAlgorithm(normalized)) throw invalidArgument('--alg', `one of ${SIGNING_ALGORITHMS.join(', ')}`, requested);
    if (!fits(normalized)) throw new VigilInputError(`--alg ${normalized} cannot sign with --key ${keyPath}, which is ${describe}`, { subject: '--alg' });
    return normalized;
  }
  const natural = SIGNING_ALGORITHMS.find(fits);
  if (natural === undefined) {
    throw new VigilInputError(
      `--key ${keyPath}: unsupported algorithm: ${describe} (C2PA allows EC P-256/P-384/P-521, RSA (PSS) and Ed25519 keys)`,
      { subject: keyPath },
    );
  }
  return natural;
}

/** C2PA certificate profile checks on the signing (leaf) certificate and the chain. */
export function checkSigningChain(chain: readonly X509Certificate[], certPath: string, now: Date): void {
  const leaf = chain[0];
  const at = `--cert ${certPath}`;
  const extensions = readCertificateExtensions(leaf);
  if (leaf.ca || extensions.isCa) {
    throw new VigilInputError(`${at}: the first certificate is a CA certificate (basicConstraints cA=true); sign with an end-entity certificate`, {
      subject: certPath,
    });
  }
  if (extensions.digitalSignature !== true) {
    throw new VigilInputError(
      `${at}: the signing certificate ${extensions.digitalSignature === undefined ? 'has no keyUsage extension' : 'lacks the digitalSignature key usage'}; C2PA requires keyUsage digitalSignature`,
      { subject: certPath },
    );
  }
  const ekus = extensions.extendedKeyUsages ?? [];
  if (!ekus.some((oid) => CLAIM_SIGNING_EKUS.has(oid))) {
    const accepted = [...CLAIM_SIGNING_EKUS.values()].join(', ');
    const found = ekus.length === 0 ? 'none' : ekus.map((oid) => (oid === OID.anyExtendedKeyUsage ? 'anyExtendedKeyUsage' : oid)).join(', ');
    throw new VigilInputError(`${at}: the signing certificate lacks a C2PA extended key usage (accepted: ${accepted}; found: ${found})`, {
      subject: certPath,
    });
  }
  chain.forEach((cert, index) => {
    const label = index === 0 ? 'the signing certificate' : `chain certificate ${index + 1} (${cert.subject.replace(/\n/g, ', ')})`;
    if (now.getTime() > new Date(cert.validTo).getTime()) {
      throw new VigilInputError(`${at}: ${label} expired on ${new Date(cert.validTo).toISOString()}`, { subject: certPath });
    }
    if (now.getTime() < new Date(cert.validFrom).getTime()) {
      throw new VigilInputError(`${at}: ${label} is not valid before ${new Date(cert.validFrom).toISOString()}`, { subject: certPath });
    }
    const issuer = chain[index + 1];
    if (issuer && !(cert.checkIssued(issuer) && cert.verify(issuer.publicKey))) {
      throw new VigilInputError(`${at}: certificate ${index + 1} is not issued by certificate ${index + 2}; list the chain leaf first`, {
        subject: certPath,
      });
    }
  });
}

/** Loads and checks a certificate chain and its private key; the result signs C2PA claims. */
export async function loadSigningCredentials(paths: CredentialPaths): Promise<CoseSigner> {
  const chain = parsePemCertificates(await readText(paths.certPath, '--cert'), `--cert ${paths.certPath}`);
  const key = loadPrivateKey(await readText(paths.keyPath, '--key'), paths.keyPath, paths.passphraseEnv ?? DEFAULT_PASSPHRASE_ENV);
  const algorithm = algorithmForKey(key, paths.algorithm, paths.keyPath);
  if (!chain[0].checkPrivateKey(key)) {
    throw new VigilInputError(`--key ${paths.keyPath} does not match the signing certificate in --cert ${paths.certPath}`, { subject: paths.keyPath });
  }
  if ((key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new VigilInputError(`--key ${paths.keyPath}: RSA keys must be at least 2048 bits for C2PA`, { subject: paths.keyPath });
  }
  checkSigningChain(chain, paths.certPath, paths.now ?? new Date());
  // The chain's self-signed root, if present, is left out: verifiers must have it as a trust anchor anyway.
  const isSelfSigned = (cert: X509Certificate): boolean => cert.checkIssued(cert) && cert.verify(cert.publicKey);
  const sent = chain.length > 1 && isSelfSigned(chain[chain.length - 1]) ? chain.slice(0, -1) : chain;
  return { algorithm, chain: sent, key };
}
