import type { ConnectionOptions } from 'bullmq';
import { VigilInputError, invalidArgument } from '../core/errors.js';

/**
 * Redis connection options from a `--queue` URL: `redis://[user:password@]host[:port][/db]`, or
 * `rediss://` for TLS. BullMQ opens its own connections from these options (its bundled ioredis).
 */
export function parseQueueUrl(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidArgument('--queue', 'a Redis URL such as redis://127.0.0.1:6379', url);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw invalidArgument('--queue', 'a redis:// or rediss:// URL', url);
  }
  if (parsed.hostname === '') throw invalidArgument('--queue', 'a URL with a host', url);
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    throw new VigilInputError(`Expected a database number after the / in --queue but received ${JSON.stringify(dbText)}`, {
      subject: '--queue',
    });
  }
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
    // BullMQ workers block on Redis; retrying forever is what keeps them alive across Redis restarts.
    maxRetriesPerRequest: null,
  };
}

/** The URL with any password masked, for messages and logs. */
export function redactQueueUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
