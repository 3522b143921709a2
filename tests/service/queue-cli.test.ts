import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { parseQueueUrl } from '../../src/queue/connection.js';
import { readDeadLetters } from '../../src/queue/dead-letters.js';
import { QUEUE_NAME } from '../../src/queue/protocol.js';
import { redisCommands } from '../../src/queue/redis.js';
import type { ScreenRunResults } from '../../src/screen/result.js';
import { run, startCliWorker, stop } from './cli.js';
import { startRedis, type RedisHandle } from './redis-server.js';

let redis: RedisHandle;
let dir: string;
let images: string;

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'vigil-queue-cli-'));
  images = join(dir, 'images');
  await mkdir(images);
  const sources: string[] = [];
  for (const sub of ['heldout/real', 'heldout/fake/nnconv', 'heldout/fake/tconv', 'train/real']) {
    const folder = join(PACKAGE_ROOT, 'fixtures', 'screen', sub);
    const names = (await readdir(folder).catch(() => [] as string[])).filter((n) => /\.(png|jpe?g)$/.test(n)).sort();
    sources.push(...names.slice(0, 40).map((n) => join(folder, n)));
  }
  for (const [i, source] of sources.entries()) await copyFile(source, join(images, `${String(i).padStart(3, '0')}-${source.split('/').pop()}`));
  // Same bytes under another name: one job, two result records.
  await copyFile(sources[0], join(images, 'zz-duplicate-of-first.png'));
  await writeFile(join(images, 'zz-empty.png'), Buffer.alloc(0));
  await writeFile(join(images, 'zz-corrupt.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
});

afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('vigil screen --queue with two vigil worker processes', () => {
  it('survives a worker killed mid-run: same results as a local run, nothing lost or duplicated', async () => {
    const local = await run(['screen', images, '--json', '--no-cache']);
    expect(local.code, local.stderr).toBe(0);
    const localResults = JSON.parse(local.stdout) as ScreenRunResults;
    const total = localResults.files.length;
    expect(total).toBeGreaterThan(100);

    const first = startCliWorker(redis.url);
    const second = startCliWorker(redis.url);
    try {
      const enqueuer = run(['screen', images, '--queue', redis.url, '--json', '--no-cache']);
      // Kill the first worker as soon as it has done a few jobs: whatever it held must be redone elsewhere.
      const deadline = Date.now() + 60_000;
      while (first.completed() < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      first.child.kill('SIGKILL');
      const killedAfter = first.completed();
      const queued = await enqueuer;
      expect(queued.code, queued.stderr).toBe(0);
      const queuedResults = JSON.parse(queued.stdout) as ScreenRunResults;

      expect(killedAfter).toBeGreaterThanOrEqual(5);
      expect(killedAfter).toBeLessThan(total);
      expect(second.completed()).toBeGreaterThan(0);

      // Nothing lost, nothing duplicated, identical records (same numbers, same order).
      const names = queuedResults.files.map((f) => f.file);
      expect(new Set(names).size).toBe(names.length);
      expect(queuedResults.files).toEqual(localResults.files);
      expect(queuedResults.summary).toEqual(localResults.summary);
      expect(queuedResults.files.find((f) => f.file.endsWith('zz-empty.png'))?.status).toBe('error');

      const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      const letters = await readDeadLetters(await redisCommands(queue), 10);
      await queue.close();
      expect(counts).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0 });
      expect(letters.total).toBe(0);
    } finally {
      await stop(first.child);
      await stop(second.child);
    }
  }, 180_000);
});
