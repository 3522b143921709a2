import { createHash, randomBytes, sign as cryptoSign, X509Certificate, type KeyObject } from 'node:crypto';
import { decodeOid, der, readChildren, readElement, TAG } from './der.js';

/** Object identifiers used by C2PA certificate profiles (C2PA 2.x, section 14.5 "Certificate profile"). */
export const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  country: '2.5.4.6',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  extendedKeyUsage: '2.5.29.37',
  authorityKeyIdentifier: '2.5.29.35',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ed25519: '1.3.101.112',
  anyExtendedKeyUsage: '2.5.29.37.0',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  documentSigning: '1.3.6.1.5.5.7.3.36',
  c2paClaimSigning: '1.3.6.1.4.1.62558.2.1',
} as const;

/**
 * Extended key usages C2PA accepts on a claim signing certificate: id-kp-emailProtection,
 * id-kp-documentSigning and c2pa-kp-claimSigning (anyExtendedKeyUsage is explicitly not enough).
 */
export const CLAIM_SIGNING_EKUS: ReadonlyMap<string, string> = new Map([
  [OID.emailProtection, 'id-kp-emailProtection'],
  [OID.documentSigning, 'id-kp-documentSigning'],
  [OID.c2paClaimSigning, 'c2pa-kp-claimSigning'],
]);

/** The certificate extensions vigil checks before signing, read from the DER. */
export interface CertificateExtensions {
  /** keyUsage digitalSignature bit, undefined when the extension is absent. */
  digitalSignature: boolean | undefined;
  keyCertSign: boolean | undefined;
  /** basicConstraints cA, undefined when the extension is absent. */
  isCa: boolean | undefined;
  /** Extended key usage OIDs; undefined when the extension is absent. */
  extendedKeyUsages: string[] | undefined;
}

export function readCertificateExtensions(certificate: X509Certificate): CertificateExtensions {
  const result: CertificateExtensions = {
    digitalSignature: undefined,
    keyCertSign: undefined,
    isCa: undefined,
    extendedKeyUsages: undefined,
  };
  const cert = readElement(certificate.raw);
  const tbs = readChildren(readChildren(cert.content)[0].content);
  const extensionsWrapper = tbs.find((element) => element.tag === 0xa3);
  if (!extensionsWrapper) return result;
  for (const extension of readChildren(readChildren(extensionsWrapper.content)[0].content)) {
    const fields = readChildren(extension.content);
    const oid = decodeOid(fields[0].content);
    const value = fields[fields.length - 1].content;
    if (oid === OID.keyUsage) {
      const bits = readElement(value).content;
      const first = bits.length > 1 ? bits[1] : 0;
      result.digitalSignature = (first & 0x80) !== 0;
      result.keyCertSign = (first & 0x04) !== 0;
    } else if (oid === OID.basicConstraints) {
      const inner = readChildren(readElement(value).content);
      result.isCa = inner.length > 0 && inner[0].tag === TAG.boolean && inner[0].content[0] !== 0;
    } else if (oid === OID.extendedKeyUsage) {
      result.extendedKeyUsages = readChildren(readElement(value).content).map((element) => decodeOid(element.content));
    }
  }
  return result;
}

/** Distinguished name attributes for certificates vigil creates. */
export interface NameAttributes {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
  country?: string;
}

function encodeName(name: NameAttributes): Buffer {
  const attribute = (oid: string, value: Buffer): Buffer => der.set(der.sequence(der.oid(oid), value));
  const parts: Buffer[] = [];
  if (name.country) parts.push(attribute(OID.country, der.printableString(name.country)));
  if (name.organization) parts.push(attribute(OID.organization, der.utf8String(name.organization)));
  if (name.organizationalUnit) parts.push(attribute(OID.organizationalUnit, der.utf8String(name.organizationalUnit)));
  parts.push(attribute(OID.commonName, der.utf8String(name.commonName)));
  return der.sequence(...parts);
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical ? der.sequence(der.oid(oid), der.boolean(true), der.octetString(value)) : der.sequence(der.oid(oid), der.octetString(value));
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = readChildren(readElement(publicKey.export({ type: 'spki', format: 'der' })).content);
  return createHash('sha1').update(spki[1].content.subarray(1)).digest();
}

/** The signature algorithm a CA key signs certificates with, and the digest node:crypto needs. */
function certificateSignatureAlgorithm(issuerKey: KeyObject): { algorithm: Buffer; digest: string | null } {
  const details = issuerKey.asymmetricKeyDetails;
  if (issuerKey.asymmetricKeyType === 'ed25519') return { algorithm: der.sequence(der.oid(OID.ed25519)), digest: null };
  if (issuerKey.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') {
    return { algorithm: der.sequence(der.oid(OID.ecdsaWithSha256)), digest: 'sha256' };
  }
  if (issuerKey.asymmetricKeyType === 'ec' && details?.namedCurve === 'secp384r1') {
    return { algorithm: der.sequence(der.oid(OID.ecdsaWithSha384)), digest: 'sha384' };
  }
  throw new Error(`certificate issuer keys must be Ed25519, P-256 or P-384, not ${issuerKey.asymmetricKeyType}`);
}

export interface CertificateSpec {
  subject: NameAttributes;
  issuer: NameAttributes;
  subjectPublicKey: KeyObject;
  /** The public key of the issuer (equal to subjectPublicKey for a self-signed root). */
  issuerPublicKey: KeyObject;
  issuerPrivateKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  /** Extended key usages (end-entity certificates only). */
  extendedKeyUsages?: readonly string[];
  /**
   * keyUsage bits; default digitalSignature for end-entity certificates, keyCertSign + cRLSign for
   * CAs. An empty list leaves the extension out.
   */
  keyUsages?: readonly KeyUsage[];
}

/** keyUsage bit numbers (RFC 5280 section 4.2.1.3). */
const KEY_USAGE_BITS = { digitalSignature: 0, nonRepudiation: 1, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

export type KeyUsage = keyof typeof KEY_USAGE_BITS;

/** DER BIT STRING of named bits: trailing zero bits are declared unused, as DER requires. */
function keyUsageBits(usages: readonly KeyUsage[]): Buffer {
  let byte = 0;
  let highest = 0;
  for (const usage of usages) {
    byte |= 0x80 >> KEY_USAGE_BITS[usage];
    highest = Math.max(highest, KEY_USAGE_BITS[usage]);
  }
  return der.bitStringWithUnused(Buffer.from([byte]), 7 - highest);
}

/** Builds and signs an X.509 v3 certificate with the extensions the C2PA certificate profile requires. */
export function buildCertificate(spec: CertificateSpec): X509Certificate {
  const { algorithm, digest } = certificateSignatureAlgorithm(spec.issuerPrivateKey);
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive, and at most 20 octets as RFC 5280 requires
  const keyUsages = spec.keyUsages ?? (spec.isCa ? ['keyCertSign', 'cRLSign'] : ['digitalSignature']);
  const extensions = [extension(OID.basicConstraints, true, spec.isCa ? der.sequence(der.boolean(true)) : der.sequence())];
  if (keyUsages.length > 0) extensions.push(extension(OID.keyUsage, true, keyUsageBits(keyUsages)));
  extensions.push(
    extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier(spec.subjectPublicKey))),
    extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicit(0, keyIdentifier(spec.issuerPublicKey)))),
  );
  if (spec.extendedKeyUsages && spec.extendedKeyUsages.length > 0) {
    extensions.push(extension(OID.extendedKeyUsage, false, der.sequence(...spec.extendedKeyUsages.map((oid) => der.oid(oid)))));
  }
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serial),
    algorithm,
    encodeName(spec.issuer),
    der.sequence(der.time(spec.notBefore), der.time(spec.notAfter)),
    encodeName(spec.subject),
    spec.subjectPublicKey.export({ type: 'spki', format: 'der' }),
    der.explicit(3, der.sequence(...extensions)),
  );
  // X.509 ECDSA signatures are DER (the default dsaEncoding), unlike COSE's IEEE P1363.
  const signature = cryptoSign(digest, tbs, spec.issuerPrivateKey);
  return new X509Certificate(der.sequence(tbs, algorithm, der.bitString(signature)));
}
