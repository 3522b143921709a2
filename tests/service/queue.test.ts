import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Queue } from 'bullmq';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../../src/core/files.js';
import { parseQueueUrl, redactQueueUrl } from '../../src/queue/connection.js';
import { readDeadLetters } from '../../src/queue/dead-letters.js';
import { runQueuedBatch } from '../../src/queue/enqueue.js';
import { queueSecret } from '../../src/queue/integrity.js';
import { QUEUE_NAME, canonicalJson, keys } from '../../src/queue/protocol.js';
import { z } from 'zod';
import { redisCommands } from '../../src/queue/redis.js';
import { startWorker, type ProcessorLoaders } from '../../src/queue/worker.js';
import { startRedis, type RedisHandle } from './redis-server.js';
import { TEST_QUEUE_SECRET } from './cli.js';

const secret = queueSecret(TEST_QUEUE_SECRET);
/** The test processors' values: the input's sha256 and the options. */
const valueSchema = z.strictObject({ sha256: z.string(), options: z.unknown() });

let redis: RedisHandle;
let dir: string;

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'vigil-queue-'));
});
afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Processors for the queue mechanics: the result is a function of the bytes and the options. */
function loaders(calls: string[], failing = new Set<string>()): ProcessorLoaders {
  const load: ProcessorLoaders['screen'] = async (options) => async (bytes, fileName) => {
    const text = bytes.toString();
    calls.push(text);
    if (failing.has(text)) throw new Error(`processor crashed on ${fileName}`);
    if (text.startsWith('bad')) return { ok: false, error: `${fileName}: not an image` };
    return { ok: true, value: { sha256: sha256Hex(bytes), options } };
  };
  return { screen: load, bias: load };
}

describe('queue URL', () => {
  it('parses redis URLs and names --queue in errors', () => {
    expect(parseQueueUrl('redis://user:p%40ss@10.0.0.5:6380/3')).toMatchObject({ host: '10.0.0.5', port: 6380, db: 3, username: 'user', password: 'p@ss' });
    expect(parseQueueUrl('rediss://cache.example')).toMatchObject({ port: 6379, db: 0, tls: {} });
    expect(() => parseQueueUrl('http://x')).toThrow('Expected a redis:// or rediss:// URL for --queue but received "http://x"');
    expect(() => parseQueueUrl('nonsense')).toThrow(/--queue/);
    expect(redactQueueUrl('redis://u:secret@h:1')).toBe('redis://u:***@h:1');
  });

  it('options hash ignores key order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } })).toBe('{"a":{"c":[3,{"e":2,"f":1}],"d":2},"b":1}');
  });
});

describe('runQueuedBatch with workers', () => {
  it('runs one job per distinct content, keeps input order, records input errors, and reuses finished jobs', async () => {
    const files = { 'a.png': 'alpha', 'b.png': 'beta', 'copy-of-a.png': 'alpha', 'broken.png': 'bad bytes' };
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    const paths = [...Object.keys(files), 'missing.png'].map((name) => join(dir, name));
    const calls: string[] = [];
    const connection = parseQueueUrl(redis.url);
    const worker = startWorker({ connection, secret, loaders: loaders(calls), concurrency: 2, lockDurationMs: 5000, onError: () => {} });
    try {
      const batch = { connection, displayUrl: redis.url, kind: 'screen' as const, secret, valueSchema, options: { signals: ['spectral'] }, inputs: paths, pollMs: 50 };
      const outcomes = await runQueuedBatch(batch);
      expect(outcomes.map((o) => o.name)).toEqual(paths);
      expect(outcomes[0].result).toEqual({ ok: true, value: { sha256: sha256Hex('alpha'), options: { signals: ['spectral'] } } });
      expect(outcomes[2].result).toEqual(outcomes[0].result);
      expect(outcomes[3].result).toEqual({ ok: false, error: `${join(dir, 'broken.png')}: not an image` });
      expect(outcomes[4].result).toMatchObject({ ok: false, error: expect.stringMatching(/^Cannot read .*missing\.png: no such file \(ENOENT\)/) });
      expect(calls.sort()).toEqual(['alpha', 'bad bytes', 'beta']);

      // Same bytes, same options: nothing recomputed. Other options: new jobs.
      const again = await runQueuedBatch(batch);
      expect(again).toEqual(outcomes);
      expect(calls).toHaveLength(3);
      await runQueuedBatch({ ...batch, options: { signals: ['metadata'] } });
      expect(calls).toHaveLength(6);

      // Finished jobs' bytes are not left in Redis.
      const client = await redisCommands(worker);
      expect(await client.keys(keys.blob('*'))).toEqual([]);
    } finally {
      await worker.close();
    }
  });

  it('retries a crashing job with backoff, then dead-letters it while the rest of the batch completes', async () => {
    await writeFile(join(dir, 'crash.png'), 'crash me');
    await writeFile(join(dir, 'fine.png'), 'fine');
    const calls: string[] = [];
    const connection = parseQueueUrl(redis.url);
    const worker = startWorker({ connection, secret, loaders: loaders(calls, new Set(['crash me'])), concurrency: 1, lockDurationMs: 5000, onError: () => {} });
    try {
      const outcomes = await runQueuedBatch({
        connection,
        displayUrl: redis.url,
        kind: 'screen',
        secret,
        valueSchema,
        options: { run: 'dead-letter' },
        inputs: [join(dir, 'crash.png'), { name: 'fine-in-memory.png', bytes: Buffer.from('fine') }],
        attempts: 3,
        backoffMs: 50,
        pollMs: 50,
      });
      expect(outcomes[0].result).toEqual({
        ok: false,
        error: `failed after 3 attempt(s), dead-lettered: processor crashed on ${join(dir, 'crash.png')}`,
      });
      expect(outcomes[1].result.ok).toBe(true);
      expect(calls.filter((c) => c === 'crash me')).toHaveLength(3);
      const queue = new Queue(QUEUE_NAME, { connection });
      const letters = await readDeadLetters(await redisCommands(queue), 10);
      await queue.close();
      expect(letters.total).toBe(1);
      expect(letters.newest[0]).toMatchObject({ fileName: join(dir, 'crash.png'), attemptsMade: 3, sha256: sha256Hex('crash me') });
    } finally {
      await worker.close();
    }
  });

  it('reports progress as jobs finish and says so when no worker is connected', async () => {
    await writeFile(join(dir, 'lonely.png'), 'lonely');
    const connection = parseQueueUrl(redis.url);
    const notices: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      notices.push(String(chunk));
      return true;
    });
    const settled: number[] = [];
    const calls: string[] = [];
    let worker: ReturnType<typeof startWorker> | undefined;
    try {
      const batch = runQueuedBatch({
        connection,
        displayUrl: redis.url,
        kind: 'screen',
        secret,
        valueSchema,
        options: { run: 'progress' },
        inputs: [join(dir, 'lonely.png'), join(dir, 'lonely.png'), join(dir, 'nope.png')],
        pollMs: 20,
        stallNoticeMs: 300,
        onSettled: (count) => settled.push(count),
      });
      await new Promise((resolve) => setTimeout(resolve, 700));
      worker = startWorker({ connection, secret, loaders: loaders(calls), concurrency: 1, lockDurationMs: 5000, onError: () => {} });
      await batch;
    } finally {
      spy.mockRestore();
      await worker?.close();
    }
    expect(notices.join('')).toMatch(/still waiting for 1 job\(s\): 1 waiting, 0 active, 0 delayed, 0 worker\(s\); no worker is connected/);
    // The unreadable file settles at once; the two copies of one file settle together.
    expect(settled).toEqual([1, 2]);
    expect(calls).toEqual(['lonely']);
  });
});
