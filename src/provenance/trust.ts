import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { invalidArgument, VigilInputError, errorMessage } from '../core/errors.js';

/** A named set of trust anchors (e.g. "official" = the C2PA trust list, "interim" = a temporary list). */
export interface TrustList {
  name: string;
  file: string;
  /** The anchors re-encoded as a clean PEM bundle (what c2pa-rs is given). */
  pem: string;
  anchors: X509Certificate[];
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

/** Parses a `--trust-anchors name=file.pem` value. */
export function parseTrustListArgument(value: string): { name: string; file: string } {
  const match = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(value);
  if (!match) throw invalidArgument('--trust-anchors', 'name=file.pem (name: letters, digits, _ . -)', value);
  return { name: match[1], file: match[2] };
}

export async function loadTrustList(name: string, file: string): Promise<TrustList> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new VigilInputError(`--trust-anchors ${name}: cannot read ${file} (${errorMessage(error)})`, { subject: file });
  }
  const anchors = parsePemCertificates(text, `--trust-anchors ${name}=${file}`);
  return { name, file, anchors, pem: anchors.map((cert) => cert.toString()).join('') };
}

export async function loadTrustLists(values: readonly string[]): Promise<TrustList[]> {
  const lists: TrustList[] = [];
  for (const value of values) {
    const { name, file } = parseTrustListArgument(value);
    if (lists.some((list) => list.name === name)) throw invalidArgument('--trust-anchors', 'a distinct name for each trust list', value);
    lists.push(await loadTrustList(name, file));
  }
  return lists;
}
