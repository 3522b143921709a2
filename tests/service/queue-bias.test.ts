/**
 * `vigil bias <spec> --queue`: probe images are observed by workers through Redis, metrics are
 * computed locally, and results.json matches a local run in every number and verdict.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import type { BiasResult } from '../../src/bias/result.js';
import { runBias } from '../../src/bias/run.js';
import { loadSpec } from '../../src/bias/spec.js';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { parseQueueUrl } from '../../src/queue/connection.js';
import { readDeadLetters } from '../../src/queue/dead-letters.js';
import { createQueuedObserver } from '../../src/queue/observations.js';
import { createProcessorLoaders } from '../../src/queue/processors.js';
import { QUEUE_NAME } from '../../src/queue/protocol.js';
import { redisCommands } from '../../src/queue/redis.js';
import { startWorker } from '../../src/queue/worker.js';
import type { ScreenRunResults } from '../../src/screen/result.js';
import { loadModel, type MaeModel } from '../../src/vision/index.js';
import { TEST_QUEUE_SECRET, run, startCliWorker, stop } from './cli.js';
import { queueSecret } from '../../src/queue/integrity.js';
import { startRedis, type RedisHandle } from './redis-server.js';

let redis: RedisHandle;
let dir: string;

beforeAll(async () => {
  process.env.VIGIL_QUEUE_SECRET = TEST_QUEUE_SECRET;
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'vigil-queue-bias-'));
});
afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Everything but the creation time: metrics, intervals, verdicts, failures, inference counts, provider. */
function withoutTime(result: BiasResult): Omit<BiasResult, 'createdAt'> {
  const { createdAt: _createdAt, ...rest } = result;
  return rest;
}

/** In-process workers with the real processors and no observation cache, counting their jobs. */
function startWorkers(count: number): { completed: number[]; close: () => Promise<void> } {
  const completed = new Array<number>(count).fill(0);
  const workers = completed.map((_, i) =>
    startWorker({
      connection: parseQueueUrl(redis.url),
      // The test's temp folder holds the altered model of one test.
      loaders: createProcessorLoaders({ cacheDir: false, allowRoots: [PACKAGE_ROOT, dir] }),
      secret: queueSecret(TEST_QUEUE_SECRET),
      concurrency: 1,
      lockDurationMs: 5000,
      onError: () => {},
      onJobDone: ({ outcome }) => {
        if (outcome === 'completed') completed[i]++;
      },
    }),
  );
  return { completed, close: async () => void (await Promise.all(workers.map((w) => w.close()))) };
}

describe('vigil bias --queue', () => {
  it.each(['zero-shot', 'classification', 'reconstruction'])(
    'audits/%s.yaml: two workers compute the observations, results.json equals a local run',
    async (name) => {
      const loaded = await loadSpec(`audits/${name}.yaml`);
      const local = await runBias(loaded, { quiet: true, cacheDir: false });
      const workers = startWorkers(2);
      let queued: Awaited<ReturnType<typeof runBias>>;
      try {
        queued = await runBias(loaded, { quiet: true, observer: createQueuedObserver(redis.url, { device: loaded.spec.device }) });
      } finally {
        await workers.close();
      }
      expect(withoutTime(queued.result)).toEqual(withoutTime(local.result));
      expect(queued.observations).toEqual(local.observations);
      // Really computed on the workers: one job per distinct probe image, shared between them.
      const distinct = new Set(local.observations[0].observations.map((o) => o.sha256)).size;
      expect(local.result.audits[0].n_observations).toBeGreaterThan(100);
      expect(local.result.audits[0].inference?.images_inferred).toBe(distinct);
      expect(workers.completed[0] + workers.completed[1]).toBe(distinct);
      expect(Math.min(...workers.completed)).toBeGreaterThan(0);
    },
    30_000,
  );

  it('a worker whose model folder differs refuses the jobs: failures and dead letters, no numbers', async () => {
    const modelDir = join(dir, 'mae');
    await cp(resolve('fixtures/models/mae'), modelDir, { recursive: true });
    const model = (await loadModel(modelDir)) as MaeModel;
    await model.release();
    // The worker finds different files at the path the job names.
    const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(modelDir, 'config.json'), JSON.stringify({ ...config, note: 'retrained' }));
    const image = resolve('fixtures/probes/planted/000-dark.png');

    const workers = startWorkers(1);
    const observed = [];
    try {
      for await (const obs of createQueuedObserver(redis.url, { device: 'cpu' }).reconstruct(model, [image], { seed: 7 })) observed.push(obs);
    } finally {
      await workers.close();
    }
    expect(observed).toHaveLength(1);
    // Refused for good at once (retrying cannot change the files), and without saying what this worker's files hash to.
    expect(observed[0]).toMatchObject({
      file: image,
      error: expect.stringMatching(/^failed after 1 attempt\(s\), dead-lettered: This worker's model folder .*mae is not the model the run was enqueued with \(sha256 [0-9a-f]{12}…\)/),
    });
    expect(observed[0].error).not.toContain('has sha256');
    const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
    const letters = await readDeadLetters(await redisCommands(queue), 10);
    await queue.close();
    expect(letters.newest[0]).toMatchObject({ kind: 'bias', fileName: image, attemptsMade: 1 });
  }, 30_000);

  it('the CLI: one `vigil worker` serves bias and screening jobs; `vigil bias --queue` prints the local numbers', async () => {
    const worker = startCliWorker(redis.url);
    try {
      // --seed 3: masks no earlier test used, so every observation is new work for this worker.
      const spec = 'audits/reconstruction.yaml';
      const [local, queued] = await Promise.all([
        run(['bias', spec, '--seed', '3', '--json', '--no-cache']),
        run(['bias', spec, '--seed', '3', '--json', '--queue', redis.url]),
      ]);
      // The planted disparity fails the spec's threshold, or is inconclusive at this seed (exit 3): either way the queued run says the same.
      expect([1, 3], local.stderr).toContain(local.code);
      expect(queued.code, queued.stderr).toBe(local.code);
      const localResult = JSON.parse(local.stdout) as BiasResult;
      expect(withoutTime(JSON.parse(queued.stdout) as BiasResult)).toEqual(withoutTime(localResult));
      expect(worker.completed()).toBe(localResult.audits[0].inference?.images_inferred);

      const images = ['real-heldout-000.jpg', 'real-heldout-001.png'].map((n) => join(PACKAGE_ROOT, 'fixtures/screen/heldout/real', n));
      const screened = await run(['screen', ...images, '--queue', redis.url, '--json']);
      expect(screened.code, screened.stderr).toBe(0);
      const files = (JSON.parse(screened.stdout) as ScreenRunResults).files;
      expect(files.map((f) => [f.status, typeof f.score])).toEqual([['ok', 'number'], ['ok', 'number']]);
      expect(worker.log()).toMatch(/completed .*real-heldout-000\.jpg \(screen done\)/);
      expect(worker.log()).toMatch(/completed .*planted.* \(bias done\)/);

      expect(await run(['bias', spec, '--queue', redis.url, '--no-cache'])).toMatchObject({ code: 2, stderr: expect.stringContaining("the observation cache is the workers'") });
    } finally {
      await stop(worker.child);
    }
  }, 60_000);
});
