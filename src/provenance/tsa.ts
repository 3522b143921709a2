import { createHash, randomBytes } from 'node:crypto';
import { errorMessage, VigilInputError } from '../core/errors.js';
import { der, readChildren, readElement, TAG } from './der.js';
import type { TimestampProvider } from './cose.js';

/**
 * RFC 3161 time-stamp client for `vigil provenance sign --tsa <url>`: a TimeStampReq over the
 * SHA-256 of the data (with a nonce, certReq TRUE so the TSA includes its certificate), POSTed as
 * application/timestamp-query; the TimeStampToken is taken from a granted TimeStampResp.
 * c2pa-rs validates the token (imprint, signature, TSA certificate) when the file is read back.
 */

const SHA256_OID = '2.16.840.1.101.3.4.2.1';

export interface TsaOptions {
  /** Time limit of the request in milliseconds (default 15 s). */
  timeoutMs?: number;
  /** Largest response accepted (default 1 MiB). */
  maxBytes?: number;
}

/** DER TimeStampReq (RFC 3161 section 2.4.1) for a SHA-256 digest. */
export function timestampRequest(digest: Uint8Array, nonce: Uint8Array): Buffer {
  return der.sequence(
    der.smallInteger(1),
    der.sequence(der.sequence(der.oid(SHA256_OID), Buffer.from([0x05, 0x00])), der.octetString(digest)),
    der.unsignedInteger(nonce),
    der.boolean(true),
  );
}

/** The TimeStampToken of a granted TimeStampResp (status 0 granted or 1 grantedWithMods); throws otherwise. */
export function timestampTokenFromResponse(response: Buffer, subject: string): Buffer {
  const outer = readElement(response);
  if (outer.tag !== TAG.sequence) throw new VigilInputError(`${subject}: the time-stamp response is not a DER SEQUENCE`, { subject });
  const [statusInfo, token] = readChildren(outer.content);
  const status = statusInfo === undefined ? undefined : readChildren(statusInfo.content)[0];
  const code = status?.tag === TAG.integer ? status.content.reduce((value, byte) => value * 256 + byte, 0) : undefined;
  if (code !== 0 && code !== 1) throw new VigilInputError(`${subject}: the time-stamp authority refused the request (PKIStatus ${code ?? 'missing'})`, { subject });
  if (token === undefined) throw new VigilInputError(`${subject}: the time-stamp response holds no token`, { subject });
  const start = outer.totalLength - outer.content.length;
  let offset = start + statusInfo!.totalLength;
  return Buffer.from(response.subarray(offset, (offset += token.totalLength)));
}

/** A TimestampProvider that asks the TSA at `url`. */
export function rfc3161Provider(url: string, options: TsaOptions = {}): TimestampProvider {
  const subject = `--tsa ${url}`;
  if (!/^https?:\/\//i.test(url)) throw new VigilInputError(`${subject}: expected an http(s) URL of an RFC 3161 time-stamp authority`, { subject: '--tsa' });
  return async (data) => {
    const request = timestampRequest(createHash('sha256').update(data).digest(), randomBytes(8));
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/timestamp-query' },
        body: new Uint8Array(request),
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
    } catch (error) {
      throw new VigilInputError(`${subject}: the time-stamp authority cannot be reached (${errorMessage(error)})`, { subject: '--tsa' });
    }
    if (!response.ok) throw new VigilInputError(`${subject}: the time-stamp authority answered HTTP ${response.status}`, { subject: '--tsa' });
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > (options.maxBytes ?? 1024 * 1024)) throw new VigilInputError(`${subject}: the time-stamp response is larger than 1 MiB`, { subject: '--tsa' });
    return timestampTokenFromResponse(body, subject);
  };
}
