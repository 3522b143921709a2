/**
 * The small subset of ASN.1 DER that X.509 needs: an encoder for building development certificates
 * (keygen) and a reader for the certificate extensions node:crypto does not expose (key usage,
 * basic constraints). Not a general ASN.1 library: only definite lengths, only the types used.
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const der = {
  sequence: (...items: Uint8Array[]): Buffer => tlv(TAG.sequence, Buffer.concat(items)),
  set: (...items: Uint8Array[]): Buffer => tlv(TAG.set, Buffer.concat(items)),
  boolean: (value: boolean): Buffer => tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00])),
  octetString: (bytes: Uint8Array): Buffer => tlv(TAG.octetString, bytes),
  utf8String: (text: string): Buffer => tlv(TAG.utf8String, Buffer.from(text, 'utf8')),
  printableString: (text: string): Buffer => tlv(TAG.printableString, Buffer.from(text, 'ascii')),
  /** A BIT STRING with no unused bits (keys, signatures). */
  bitString: (bytes: Uint8Array): Buffer => tlv(TAG.bitString, Buffer.concat([Buffer.from([0]), bytes])),
  /** A BIT STRING of named bits (keyUsage), DER requiring the trailing zero bits to be declared unused. */
  bitStringWithUnused: (bytes: Uint8Array, unusedBits: number): Buffer =>
    tlv(TAG.bitString, Buffer.concat([Buffer.from([unusedBits]), bytes])),
  /** Non-negative INTEGER from big-endian magnitude bytes (a 0x00 is prepended when the top bit is set). */
  unsignedInteger: (magnitude: Uint8Array): Buffer => {
    let start = 0;
    while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
    const trimmed = Buffer.from(magnitude.subarray(start));
    return tlv(TAG.integer, trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
  },
  smallInteger: (value: number): Buffer => der.unsignedInteger(Buffer.from([value >> 8, value & 0xff])),
  oid: (dotted: string): Buffer => {
    const parts = dotted.split('.').map(Number);
    const bytes: number[] = [parts[0] * 40 + parts[1]];
    for (const part of parts.slice(2)) {
      const base128: number[] = [part & 0x7f];
      for (let n = Math.floor(part / 128); n > 0; n = Math.floor(n / 128)) base128.unshift((n & 0x7f) | 0x80);
      bytes.push(...base128);
    }
    return tlv(TAG.oid, Buffer.from(bytes));
  },
  /** RFC 5280: UTCTime through 2049, GeneralizedTime from 2050. */
  time: (date: Date): Buffer => {
    const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
    return date.getUTCFullYear() < 2050 ? tlv(TAG.utcTime, Buffer.from(`${iso.slice(2)}Z`)) : tlv(TAG.generalizedTime, Buffer.from(`${iso}Z`));
  },
  /** Context-specific constructed tag [n] (EXPLICIT tagging). */
  explicit: (n: number, content: Uint8Array): Buffer => tlv(0xa0 | n, content),
  /** Context-specific primitive tag [n] (IMPLICIT tagging of a primitive, e.g. keyIdentifier). */
  implicit: (n: number, content: Uint8Array): Buffer => tlv(0x80 | n, content),
};

/** One decoded DER element: its tag, its content bytes and the total bytes it occupied. */
export interface DerElement {
  tag: number;
  content: Buffer;
  totalLength: number;
}

export class DerError extends Error {
  override readonly name = 'DerError';
}

export function readElement(bytes: Buffer, offset = 0): DerElement {
  if (offset + 2 > bytes.length) throw new DerError('truncated DER element');
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let headerLength = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || offset + 2 + count > bytes.length) throw new DerError('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i];
    headerLength += count;
  }
  const start = offset + headerLength;
  if (start + length > bytes.length) throw new DerError('DER element runs past its container');
  return { tag, content: bytes.subarray(start, start + length), totalLength: headerLength + length };
}

/** The elements directly inside a constructed element's content. */
export function readChildren(content: Buffer): DerElement[] {
  const children: DerElement[] = [];
  for (let offset = 0; offset < content.length; ) {
    const element = readElement(content, offset);
    children.push(element);
    offset += element.totalLength;
  }
  return children;
}

export function decodeOid(content: Buffer): string {
  const parts = [Math.floor(content[0] / 40), content[0] % 40];
  let value = 0;
  for (const byte of content.subarray(1)) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}
