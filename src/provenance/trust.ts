import { X509Certificate } from 'node:crypto';
import { invalidArgument, VigilInputError, errorMessage } from '../core/errors.js';
import { MAX_CONFIG_BYTES, readInputFile } from '../core/files.js';
import type { EngineTrustList } from './engine.js';

/**
 * Trust input. A trust list is a file of certificates with one purpose:
 * - signer: who may sign claims. CA certificates become trust anchors (the signer must chain to
 *   one); end-entity certificates form an allowed list (that exact certificate is trusted);
 * - tsa: time-stamp authorities, so a time-stamp can be trusted and a signature judged at its time;
 * - cawg: anchors of CAWG identity (X.509) credentials.
 * Files are PEM bundles or JSON trust lists in the format of Microsoft's C2PA browser-extension
 * validator (name, description, last_updated, entities[].jwks.keys[].x5c, isCA).
 */

export type TrustPurpose = 'signer' | 'tsa' | 'cawg';

export interface TrustList {
  name: string;
  file: string;
  purpose: TrustPurpose;
  format: 'pem' | 'json';
  /** CA certificates: trust anchors, re-encoded as a clean PEM bundle in `pem` (what c2pa-rs is given). */
  anchors: X509Certificate[];
  pem: string;
  /** End-entity certificates trusted as they are (c2pa-rs allowed_list), PEM in `allowedPem`. */
  allowed: X509Certificate[];
  allowedPem: string;
  /** Entries of a JSON list that could not be used (thumbprint-only keys, bad certificates), with why. */
  skipped: string[];
  /** Title and date of a JSON list, as the list states them. */
  title?: string;
  lastUpdated?: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Parses every certificate of a PEM bundle; text between certificates (comments) is ignored. */
export function parsePemCertificates(pem: string, subject: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new VigilInputError(`${subject}: no PEM certificate (-----BEGIN CERTIFICATE-----) found`, { subject });
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new VigilInputError(`${subject}: certificate ${index + 1} is not a valid X.509 certificate (${errorMessage(error)})`, { subject });
    }
  });
}

const toPem = (certs: readonly X509Certificate[]): string => certs.map((cert) => cert.toString()).join('');

/** A trust list from certificates, sorted into anchors (CAs) and an allowed list (end entities). */
export function trustListOf(
  name: string,
  file: string,
  certificates: readonly X509Certificate[],
  options: { purpose?: TrustPurpose; format?: 'pem' | 'json'; skipped?: string[]; title?: string; lastUpdated?: string; endEntity?: boolean[] } = {},
): TrustList {
  const anchors: X509Certificate[] = [];
  const allowed: X509Certificate[] = [];
  certificates.forEach((cert, index) => ((options.endEntity?.[index] ?? !cert.ca) ? allowed : anchors).push(cert));
  return {
    name,
    file,
    purpose: options.purpose ?? 'signer',
    format: options.format ?? 'pem',
    anchors,
    pem: toPem(anchors),
    allowed,
    allowedPem: toPem(allowed),
    skipped: options.skipped ?? [],
    ...(options.title === undefined ? {} : { title: options.title }),
    ...(options.lastUpdated === undefined ? {} : { lastUpdated: options.lastUpdated }),
  };
}

/** A certificate from a JWK x5c entry: base64 DER (RFC 7517) or, as some lists write it, PEM. */
function certificateFromX5c(value: unknown): X509Certificate {
  if (typeof value !== 'string') throw new Error('x5c entry is not a string');
  const pem = value.includes('BEGIN CERTIFICATE') ? value : Buffer.from(value.replace(/\s+/g, ''), 'base64');
  return new X509Certificate(pem);
}

interface JsonTrustList {
  name?: unknown;
  last_updated?: unknown;
  entities?: unknown;
}

/** Parses a JSON trust list (Microsoft C2PA validator format). */
export function parseJsonTrustList(text: string, name: string, file: string, purpose: TrustPurpose): TrustList {
  const subject = `trust list ${name}=${file}`;
  let json: JsonTrustList;
  try {
    json = JSON.parse(text) as JsonTrustList;
  } catch (error) {
    throw new VigilInputError(`${subject}: not valid JSON (${errorMessage(error)})`, { subject: file });
  }
  if (typeof json !== 'object' || json === null || !Array.isArray(json.entities)) {
    throw new VigilInputError(`${subject}: expected a JSON trust list with an "entities" array (each with jwks.keys[].x5c)`, { subject: file });
  }
  const certificates: X509Certificate[] = [];
  const endEntity: boolean[] = [];
  const skipped: string[] = [];
  json.entities.forEach((raw, index) => {
    const entity = (raw ?? {}) as { name?: unknown; display_name?: unknown; isCA?: unknown; jwks?: { keys?: unknown } };
    const label = `entities[${index}]${typeof entity.name === 'string' ? ` (${entity.name})` : ''}`;
    const keys = Array.isArray(entity.jwks?.keys) ? (entity.jwks.keys as Record<string, unknown>[]) : [];
    if (keys.length === 0) skipped.push(`${label}: no jwks.keys`);
    keys.forEach((key, keyIndex) => {
      const x5c = Array.isArray(key?.x5c) ? key.x5c : undefined;
      if (!x5c || x5c.length === 0) {
        skipped.push(`${label} key ${keyIndex}: ${key && 'x5t#S256' in key ? 'thumbprint only (x5t#S256); c2pa-rs needs the certificate itself' : 'no x5c certificate'}`);
        return;
      }
      try {
        // x5c[0] is the key's own certificate; the rest of the chain is not trusted by being listed.
        certificates.push(certificateFromX5c(x5c[0]));
        endEntity.push(entity.isCA === false);
      } catch (error) {
        skipped.push(`${label} key ${keyIndex}: not a valid certificate (${errorMessage(error)})`);
      }
    });
  });
  if (certificates.length === 0) throw new VigilInputError(`${subject}: no usable certificate (${skipped.join('; ') || 'empty list'})`, { subject: file });
  return trustListOf(name, file, certificates, {
    purpose,
    format: 'json',
    skipped,
    endEntity,
    ...(typeof json.name === 'string' ? { title: json.name } : {}),
    ...(typeof json.last_updated === 'string' ? { lastUpdated: json.last_updated } : {}),
  });
}

/** Parses a `name=file` trust option value. */
export function parseTrustListArgument(value: string, option = '--trust-anchors'): { name: string; file: string } {
  const match = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(value);
  if (!match) throw invalidArgument(option, 'name=file (name: letters, digits, _ . -)', value);
  return { name: match[1], file: match[2] };
}

/** Loads a PEM bundle or JSON trust list (told apart by content). */
export async function loadTrustList(name: string, file: string, purpose: TrustPurpose = 'signer'): Promise<TrustList> {
  const text = (await readInputFile(file, { what: `trust list ${name}`, maxBytes: MAX_CONFIG_BYTES })).toString('utf8');
  if (/^\s*[{[]/.test(text)) return parseJsonTrustList(text, name, file, purpose);
  return trustListOf(name, file, parsePemCertificates(text, `trust list ${name}=${file}`), { purpose });
}

export interface TrustArguments {
  /** `name=file` values of signer trust lists (--trust-anchors). */
  signer?: readonly string[];
  /** `name=file` values of time-stamp authority anchors (--tsa-anchors). */
  tsa?: readonly string[];
  /** `name=file` values of CAWG identity anchors (--cawg-anchors). */
  cawg?: readonly string[];
}

/** Loads signer lists from `name=file` values (the historical entry point), or every purpose from TrustArguments. */
export async function loadTrustLists(values: readonly string[] | TrustArguments): Promise<TrustList[]> {
  const groups: [TrustPurpose, readonly string[], string][] = Array.isArray(values)
    ? [['signer', values, '--trust-anchors']]
    : [
        ['signer', (values as TrustArguments).signer ?? [], '--trust-anchors'],
        ['tsa', (values as TrustArguments).tsa ?? [], '--tsa-anchors'],
        ['cawg', (values as TrustArguments).cawg ?? [], '--cawg-anchors'],
      ];
  const lists: TrustList[] = [];
  for (const [purpose, entries, option] of groups) {
    for (const value of entries) {
      const { name, file } = parseTrustListArgument(value, option);
      if (lists.some((list) => list.name === name)) throw invalidArgument(option, 'a distinct name for each trust list', value);
      lists.push(await loadTrustList(name, file, purpose));
    }
  }
  return lists;
}

/** The URI that names a list in c2pa-rs's validation results (its trustListUri). */
export function trustListUri(list: Pick<TrustList, 'name'>): string {
  return `urn:vigil:trust-list:${encodeURIComponent(list.name)}`;
}

const ENGINE_KIND = { signer: 'manifest', tsa: 'tsa', cawg: 'cawg' } as const;

/** The lists as c2pa-rs trust settings: each keeps its purpose, so a time-stamp authority's anchor never vouches for a signer. */
export function engineTrust(lists: readonly TrustList[]): EngineTrustList[] {
  return lists.map((list) => ({
    kind: ENGINE_KIND[list.purpose],
    uri: trustListUri(list),
    anchors: list.pem,
    ...(list.allowedPem ? { allowed: list.allowedPem } : {}),
  }));
}

export interface CertificateRow {
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 fingerprint, as certificate viewers show it. */
  sha256: string;
}

function certificateRow(cert: X509Certificate): CertificateRow {
  return { subject: cert.subject.replace(/\n/g, ', '), issuer: cert.issuer.replace(/\n/g, ', '), notBefore: cert.validFrom, notAfter: cert.validTo, sha256: cert.fingerprint256 };
}

/** A trust list as `vigil provenance trust` shows it (no PEM, one row per certificate). */
export function describeTrustList(list: TrustList): Omit<TrustList, 'pem' | 'allowedPem' | 'anchors' | 'allowed'> & { anchors: CertificateRow[]; allowed: CertificateRow[] } {
  const { pem: _pem, allowedPem: _allowedPem, anchors, allowed, ...rest } = list;
  return { ...rest, anchors: anchors.map(certificateRow), allowed: allowed.map(certificateRow) };
}
