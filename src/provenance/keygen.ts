import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { access, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument, VigilInputError } from '../core/errors.js';
import { writeFileAtomic } from '../core/files.js';
import { COSE_ALGORITHMS, SIGNING_ALGORITHMS, isSigningAlgorithm, type SigningAlgorithm } from './cose.js';
import { buildCertificate, OID, type NameAttributes } from './x509.js';

/**
 * `vigil provenance keygen`: a development CA and a C2PA signing certificate it issued. The names
 * say UNTRUSTED so nobody mistakes them for real credentials: images signed with them verify as
 * Valid (or Trusted only where someone adds this CA as a trust anchor on purpose).
 */

export const KEYGEN_FILES = {
  caCert: 'ca.pem',
  caKey: 'ca.key.pem',
  signerChain: 'signer.pem',
  signerKey: 'signer.key.pem',
} as const;

export interface KeygenOptions {
  outDir: string;
  /** Signing algorithm the signer key is made for (default es256). */
  algorithm?: string;
  /** Validity of both certificates in days (default 365). */
  days?: number;
  /** Organization name placed (after the UNTRUSTED marker) in both subjects. */
  organization?: string;
  overwrite?: boolean;
  /** For tests: the start of validity. */
  now?: Date;
}

export interface KeygenResult {
  files: Record<keyof typeof KEYGEN_FILES, string>;
  algorithm: SigningAlgorithm;
  caSubject: string;
  signerSubject: string;
  notBefore: string;
  notAfter: string;
}

function generateSignerKey(algorithm: SigningAlgorithm): { publicKey: KeyObject; privateKey: KeyObject } {
  const spec = COSE_ALGORITHMS[algorithm];
  if (spec.keyType === 'ec') return generateKeyPairSync('ec', { namedCurve: spec.curve });
  if (spec.keyType === 'rsa') return generateKeyPairSync('rsa', { modulusLength: 3072 });
  return generateKeyPairSync('ed25519');
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export async function generateDevCredentials(options: KeygenOptions): Promise<KeygenResult> {
  const requested = (options.algorithm ?? 'es256').toLowerCase();
  if (!isSigningAlgorithm(requested)) throw invalidArgument('--alg', `one of ${SIGNING_ALGORITHMS.join(', ')}`, options.algorithm);
  const days = options.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw invalidArgument('--days', 'an integer from 1 to 3650', options.days);
  const files = {
    caCert: join(options.outDir, KEYGEN_FILES.caCert),
    caKey: join(options.outDir, KEYGEN_FILES.caKey),
    signerChain: join(options.outDir, KEYGEN_FILES.signerChain),
    signerKey: join(options.outDir, KEYGEN_FILES.signerKey),
  };
  if (!options.overwrite) {
    for (const path of Object.values(files)) {
      if (await exists(path)) throw new VigilInputError(`${path} already exists; pass --force to replace the credentials in ${options.outDir}`, { subject: path });
    }
  }
  // Backdated an hour so a freshly made certificate is valid on machines with a slightly slow clock.
  const notBefore = new Date((options.now ?? new Date()).getTime() - 3600_000);
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
  const organization = `UNTRUSTED TEST CREDENTIALS${options.organization ? ` - ${options.organization}` : ''}`;
  const caName: NameAttributes = { commonName: 'vigil development CA (untrusted)', organization, organizationalUnit: 'FOR TESTING ONLY' };
  const signerName: NameAttributes = { commonName: 'vigil development signer (untrusted)', organization, organizationalUnit: 'FOR TESTING ONLY' };
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const signer = generateSignerKey(requested);
  const caCert = buildCertificate({
    subject: caName,
    issuer: caName,
    subjectPublicKey: ca.publicKey,
    issuerPublicKey: ca.publicKey,
    issuerPrivateKey: ca.privateKey,
    notBefore,
    notAfter,
    isCa: true,
  });
  const signerCert = buildCertificate({
    subject: signerName,
    issuer: caName,
    subjectPublicKey: signer.publicKey,
    issuerPublicKey: ca.publicKey,
    issuerPrivateKey: ca.privateKey,
    notBefore,
    notAfter,
    isCa: false,
    extendedKeyUsages: [OID.documentSigning, OID.emailProtection],
  });
  const pkcs8 = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeFileAtomic(files.caCert, caCert.toString());
  await writeFileAtomic(files.caKey, pkcs8(ca.privateKey));
  await writeFileAtomic(files.signerChain, signerCert.toString() + caCert.toString());
  await writeFileAtomic(files.signerKey, pkcs8(signer.privateKey));
  await chmod(files.caKey, 0o600);
  await chmod(files.signerKey, 0o600);
  return {
    files,
    algorithm: requested,
    caSubject: caCert.subject.replace(/\n/g, ', '),
    signerSubject: signerCert.subject.replace(/\n/g, ', '),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
  };
}
