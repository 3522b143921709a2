import { errorMessage } from '../core/errors.js';

/**
 * Remote (cloud) manifests: the file holds only a URL. vigil verifies offline by default and
 * reports such a file as manifest.inaccessible; with --fetch-remote, c2pa-rs fetches the manifest
 * through `fetch`, which vigil guards for the duration of that one read: only the URL the file
 * names, http(s) only, a time limit and a size limit, and the fetched bytes are handed over
 * only when complete.
 */

export interface RemoteFetchLimits {
  /** Largest manifest accepted, in bytes. */
  maxBytes: number;
  /** Time limit for the whole fetch (connect, redirects, body), in milliseconds. */
  timeoutMs: number;
}

export const DEFAULT_REMOTE_LIMITS: RemoteFetchLimits = { maxBytes: 16 * 1024 * 1024, timeoutMs: 10_000 };

async function readCapped(response: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) throw new Error(`remote manifest ${url} is ${declared} bytes, over the ${maxBytes}-byte limit`);
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new Error(`remote manifest ${url} exceeds the ${maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** A fetch that serves only `allowedUrl`, within the limits; `failures` collects why a fetch was refused (c2pa-rs reports only that it failed). */
export function guardedFetch(allowedUrl: string, limits: RemoteFetchLimits, base: typeof fetch = fetch, failures: string[] = []): typeof fetch {
  const guarded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url !== allowedUrl) throw new Error(`vigil fetches only the remote manifest the file names (${allowedUrl}), not ${url}`);
    if (!/^https?:\/\//i.test(url)) throw new Error(`remote manifest URL ${url} is not http(s)`);
    const response = await base(url, { ...init, method: 'GET', redirect: 'follow', signal: AbortSignal.timeout(limits.timeoutMs) });
    if (!response.ok) throw new Error(`remote manifest ${url}: HTTP ${response.status}`);
    const bytes = await readCapped(response, limits.maxBytes, url);
    const capped = new Response(Buffer.from(bytes), { status: response.status, headers: response.headers });
    // c2pa-rs reads the response URL (a constructed Response has none).
    Object.defineProperty(capped, 'url', { value: response.url || url });
    return capped;
  };
  return (async (input: string | URL | Request, init?: RequestInit) => {
    try {
      return await guarded(input, init);
    } catch (error) {
      failures.push(errorMessage(error));
      throw error;
    }
  }) as typeof fetch;
}

let fetchGuards = 0;

/** Runs `fn` with the global fetch replaced by the guarded one (restored afterwards, also on error). */
export async function withGuardedFetch<T>(allowedUrl: string, limits: RemoteFetchLimits, fn: () => Promise<T>): Promise<T> {
  if (fetchGuards > 0) throw new Error('remote manifest fetches run one at a time');
  const original = globalThis.fetch;
  fetchGuards++;
  const failures: string[] = [];
  globalThis.fetch = guardedFetch(allowedUrl, limits, original, failures);
  try {
    return await fn();
  } catch (error) {
    throw new Error(failures.length > 0 ? failures.join('; ') : errorMessage(error));
  } finally {
    globalThis.fetch = original;
    fetchGuards--;
  }
}
