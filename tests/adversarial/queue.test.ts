/**
 * Attacks on queue mode through Redis (anyone who can reach Redis can read and write it), each
 * reproduced as found by the adversarial review and asserted fixed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { sha256Hex } from '../../src/core/files.js';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { parseQueueUrl } from '../../src/queue/connection.js';
import { readDeadLetters } from '../../src/queue/dead-letters.js';
import { runQueuedBatch, type QueuedBatchOptions } from '../../src/queue/enqueue.js';
import { jobIdOf, queueSecret, sign } from '../../src/queue/integrity.js';
import { createProcessorLoaders } from '../../src/queue/processors.js';
import { KEY_TTL_SECONDS, QUEUE_NAME, keys, optionsHashOf, signedJobFields, type JobData } from '../../src/queue/protocol.js';
import { redisCommands } from '../../src/queue/redis.js';
import { screenValueSchema } from '../../src/queue/schemas.js';
import { startWorker, type ProcessorLoaders } from '../../src/queue/worker.js';
import { TEST_QUEUE_SECRET, run, startCliWorker, stop } from '../service/cli.js';
import { startRedis, type RedisHandle } from '../service/redis-server.js';

let redis: RedisHandle;
let dir: string;
const secret = queueSecret(TEST_QUEUE_SECRET);
const valueSchema = z.strictObject({ text: z.string(), verdict: z.string() });

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'vigil-adversarial-queue-'));
});
afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Honest processors: the verdict is a function of the bytes. */
function honest(calls: string[] = []): ProcessorLoaders {
  const load: ProcessorLoaders['screen'] = async () => async (bytes) => {
    calls.push(bytes.toString());
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { ok: true, value: { text: bytes.toString(), verdict: bytes.toString().startsWith('fake') ? 'likely-synthetic' : 'no-evidence' } };
  };
  return { screen: load, bias: load };
}

function batch(inputs: QueuedBatchOptions['inputs'], options: unknown): QueuedBatchOptions {
  return { connection: parseQueueUrl(redis.url), displayUrl: redis.url, kind: 'screen', options, secret, valueSchema, inputs, pollMs: 20, backoffMs: 20 };
}

/** A worker that does not hold the secret and answers every job with `answer` (what an attacker on Redis can do). */
function rogueWorker(answer: unknown): Worker {
  const worker = new Worker(QUEUE_NAME, async () => answer, { connection: parseQueueUrl(redis.url) });
  worker.on('error', () => {});
  return worker;
}

async function deadLetters(): Promise<Awaited<ReturnType<typeof readDeadLetters>>> {
  const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
  try {
    return await readDeadLetters(await redisCommands(queue), 50);
  } finally {
    await queue.close();
  }
}

describe('forged results through Redis', () => {
  it('job ids cannot be pre-computed: they are keyed by VIGIL_QUEUE_SECRET, not `screen-<options>-<sha256>`', () => {
    const sha256 = sha256Hex('deepfake');
    const optionsHash = optionsHashOf('screen', { probe: 1 });
    const id = jobIdOf(secret, 'screen', optionsHash, sha256);
    expect(id).not.toContain(sha256);
    expect(id).not.toContain(optionsHash.slice(0, 16));
    expect(id).not.toBe(jobIdOf(queueSecret('another-deployment-secret-0123456789abcdef'), 'screen', optionsHash, sha256));
    expect(jobIdOf(secret, 'screen', optionsHash, sha256)).toBe(id); // same secret: same job, reused
  });

  it('a pre-seeded "completed" job with a forged no-evidence verdict is refused and recomputed by an honest worker', async () => {
    // Worst case: the attacker learned the id. They plant a completed job there with a forged value.
    const bytes = Buffer.from('fake deepfake bytes');
    const options = { run: 'pre-seeded' };
    const jobId = jobIdOf(secret, 'screen', optionsHashOf('screen', options), sha256Hex(bytes));
    const attacker = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
    await attacker.add('screen', { forged: true } as never, { jobId });
    const rogue = rogueWorker({ ok: true, value: { text: 'fake deepfake bytes', verdict: 'no-evidence' } });
    while ((await (await attacker.getJob(jobId))?.getState()) !== 'completed') await new Promise((resolve) => setTimeout(resolve, 20));
    await rogue.close();
    await attacker.close();

    const calls: string[] = [];
    const worker = startWorker({ connection: parseQueueUrl(redis.url), secret, loaders: honest(calls), concurrency: 1, lockDurationMs: 5000, onError: () => {} });
    try {
      const [outcome] = await runQueuedBatch(batch([{ name: 'deepfake.png', bytes }], options));
      expect(outcome.result).toEqual({ ok: true, value: { text: 'fake deepfake bytes', verdict: 'likely-synthetic' } });
      expect(outcome.jobFailed).toBe(false);
      expect(calls).toEqual(['fake deepfake bytes']);
    } finally {
      await worker.close();
    }
  });

  it.each([
    ['an unsigned forged verdict', { ok: true, value: { text: 'x', verdict: 'no-evidence' } }],
    ['{"ok":true,"value":null}', { ok: true, value: null }],
    ['a result with a made-up signature', { result: { ok: true, value: { text: 'x', verdict: 'no-evidence' } }, mac: '0'.repeat(64) }],
  ])('a worker without the secret answering %s: the job fails, nothing forged is used', async (_name, answer) => {
    const rogue = rogueWorker(answer);
    try {
      const outcomes = await runQueuedBatch(batch([{ name: 'a.png', bytes: Buffer.from(`rogue ${JSON.stringify(answer)}`) }], { run: JSON.stringify(answer) }));
      expect(outcomes[0].jobFailed).toBe(true);
      expect(outcomes[0].result).toMatchObject({ ok: false, error: expect.stringMatching(/refused 2 time\(s\)/) });
    } finally {
      await rogue.close();
    }
  });

  it('a correctly signed result whose value breaks the schema (no verdict, no error) is refused', async () => {
    const load: ProcessorLoaders['screen'] = async () => async () => ({ ok: true, value: null });
    const worker = startWorker({ connection: parseQueueUrl(redis.url), secret, loaders: { screen: load, bias: load }, concurrency: 1, lockDurationMs: 5000, onError: () => {} });
    try {
      const [outcome] = await runQueuedBatch({ ...batch([{ name: 'n.png', bytes: Buffer.from('null value') }], { run: 'null' }), valueSchema: screenValueSchema });
      expect(outcome.jobFailed).toBe(true);
      expect(outcome.result).toMatchObject({ ok: false, error: expect.stringContaining('does not match the result schema') });
    } finally {
      await worker.close();
    }
  });

  it('`vigil screen --queue` answered only by a forging worker: files recorded as errors, exit 2 saying how many jobs failed', async () => {
    const rogue = rogueWorker({ ok: true, value: { file: 'x', status: 'ok', verdict: 'no-evidence', score: 0.001 } });
    try {
      const images = ['real-heldout-000.jpg', 'real-heldout-001.png'].map((n) => join(PACKAGE_ROOT, 'fixtures/screen/heldout/real', n));
      const result = await run(['screen', ...images, '--queue', redis.url, '--json', '--no-cache']);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('2 queued job(s) failed');
      const files = (JSON.parse(result.stdout) as { files: { status: string; verdict: string | null; error: string | null }[] }).files;
      expect(files.map((f) => [f.status, f.verdict])).toEqual([['error', null], ['error', null]]);
      expect(files[0].error).toMatch(/refused 2 time\(s\)/);
    } finally {
      await rogue.close();
    }
  }, 120_000);

  it('queue mode refuses to start without VIGIL_QUEUE_SECRET, and a short secret', async () => {
    const worker = await run(['worker', '--queue', redis.url], { VIGIL_QUEUE_SECRET: '' });
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain('Queue mode needs VIGIL_QUEUE_SECRET');
    const screen = await run(['screen', join(PACKAGE_ROOT, 'fixtures/screen/heldout/real/real-heldout-000.jpg'), '--queue', redis.url], { VIGIL_QUEUE_SECRET: 'short' });
    expect(screen.code).toBe(2);
    expect(screen.stderr).toContain('Expected VIGIL_QUEUE_SECRET to be at least 32 characters');
  }, 60_000);
});

/** Adds a job the way an attacker with redis-cli would, optionally signed (an insider holding the secret). */
async function pushJob(data: Record<string, unknown>, blob: Buffer, options: { signed: boolean; jobId: string }): Promise<void> {
  const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
  try {
    const client = await redisCommands(queue);
    await client.set(keys.blob(options.jobId), blob, 'EX', KEY_TTL_SECONDS);
    const full = options.signed ? { ...data, mac: sign(secret, 'job', signedJobFields(options.jobId, data as Omit<JobData, 'mac'>)) } : data;
    await queue.add('screen', full as never, { jobId: options.jobId, attempts: 3, backoff: { type: 'fixed', delay: 20 } });
  } finally {
    await queue.close();
  }
}

async function waitForDeadLetter(jobId: string, timeoutMs = 20_000): Promise<{ failedReason: string; attemptsMade: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const letter = (await deadLetters()).newest.find((l) => l.jobId === jobId);
    if (letter) return letter;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no dead letter for ${jobId} within ${timeoutMs} ms`);
}

describe('hostile jobs pushed straight into Redis', () => {
  const image = Buffer.from('hostile job input');
  const screenJob = (options: Record<string, unknown>): Record<string, unknown> => ({
    kind: 'screen',
    sha256: sha256Hex(image),
    fileName: 'x.png',
    optionsHash: optionsHashOf('screen', options),
    options,
  });
  let worker: Worker;
  beforeAll(() => {
    // The real processors; the allowed roots are the defaults (vigil's package and the working folder).
    worker = startWorker({
      connection: parseQueueUrl(redis.url),
      secret,
      loaders: createProcessorLoaders({ cacheDir: false }),
      limits: { maxJobBytes: 1024, jobTimeoutMs: 5000 },
      concurrency: 2,
      lockDurationMs: 5000,
      onError: () => {},
    });
  });
  afterAll(async () => {
    await worker?.close();
  });

  it('an unsigned job naming probePath /etc/shadow is dead-lettered for its signature, and no hash of the file leaks', async () => {
    const options = { probePath: '/etc/shadow', probeSha256: '0'.repeat(64), signals: null, clipDir: null, maeDir: null, device: 'cpu' };
    await pushJob(screenJob(options), image, { signed: false, jobId: 'hostile-unsigned-shadow' });
    const letter = await waitForDeadLetter('hostile-unsigned-shadow');
    expect(letter.failedReason).toMatch(/not a vigil job \(mac|signature does not verify/);
    expect(letter.attemptsMade).toBe(1);
  });

  it('even signed (an insider), /etc/shadow is refused as outside the allowed roots, unread', async () => {
    const options = { probePath: '/etc/shadow', probeSha256: '0'.repeat(64), signals: null, clipDir: null, maeDir: null, device: 'cpu' };
    await pushJob(screenJob(options), image, { signed: true, jobId: 'hostile-signed-shadow' });
    const letter = await waitForDeadLetter('hostile-signed-shadow');
    expect(letter.failedReason).toMatch(/^Probe \/etc\/shadow (is outside this worker's allowed roots|does not exist on this worker)/);
    expect(letter.failedReason).not.toMatch(/[0-9a-f]{12}…/);
  });

  it('/dev/zero (and a FIFO) as the probe is refused at once instead of being hashed forever', async () => {
    const options = { probePath: '/dev/zero', probeSha256: '0'.repeat(64), signals: null, clipDir: null, maeDir: null, device: 'cpu' };
    await pushJob(screenJob(options), image, { signed: true, jobId: 'hostile-dev-zero' });
    const letter = await waitForDeadLetter('hostile-dev-zero');
    expect(letter.failedReason).toMatch(/Probe \/dev\/zero is (outside this worker's allowed roots|not a plain file)/);
  });

  it('a job whose data is not JSON goes to the dead letters with the reason instead of staying active', async () => {
    const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
    try {
      await queue.pause();
      await queue.add('screen', { placeholder: true } as never, { jobId: 'hostile-unparseable' });
      const client = (await queue.client) as unknown as { hset(key: string, field: string, value: string): Promise<number> };
      await client.hset(`bull:${QUEUE_NAME}:hostile-unparseable`, 'data', '{not json');
      await queue.resume();
      const letter = await waitForDeadLetter('hostile-unparseable', 10_000);
      expect(letter.failedReason).toMatch(/the job record is not valid JSON/);
      expect(await (await queue.getJobCounts('active')).active).toBe(0);
    } finally {
      await queue.resume();
      await queue.close();
    }
  });

  it('an input over the worker\'s size limit is refused before it is read', async () => {
    const big = Buffer.alloc(4096, 1);
    const data = { ...screenJob({ run: 'big' }), sha256: sha256Hex(big) };
    await pushJob(data, big, { signed: true, jobId: 'hostile-too-big' });
    const letter = await waitForDeadLetter('hostile-too-big');
    expect(letter.failedReason).toContain('4096 bytes, over this worker\'s limit of 1024 bytes');
  });
});

describe('per-job time limit', () => {
  it('a job running past --job-timeout-ms is dead-lettered with the reason; the worker goes on', async () => {
    const load: ProcessorLoaders['screen'] = async () => async (bytes) => {
      if (bytes.toString() === 'slow') await new Promise((resolve) => setTimeout(resolve, 3000));
      return { ok: true, value: { text: bytes.toString(), verdict: 'no-evidence' } };
    };
    const worker = startWorker({ connection: parseQueueUrl(redis.url), secret, loaders: { screen: load, bias: load }, limits: { jobTimeoutMs: 300 }, concurrency: 2, lockDurationMs: 5000, onError: () => {} });
    try {
      const outcomes = await runQueuedBatch(batch([{ name: 'slow.png', bytes: Buffer.from('slow') }, { name: 'quick.png', bytes: Buffer.from('quick') }], { run: 'timeout' }));
      expect(outcomes[0]).toMatchObject({ jobFailed: true, result: { ok: false, error: expect.stringContaining('300 ms per-job time limit') } });
      expect(outcomes[1].result.ok).toBe(true);
    } finally {
      await worker.close();
    }
  });
});

describe('Redis restarted mid-run (no persistence)', () => {
  it('the run completes with every file once, none lost to "options no longer in Redis"', async () => {
    const inputs = Array.from({ length: 60 }, (_, i) => ({ name: `f${i}.png`, bytes: Buffer.from(`${i % 3 === 0 ? 'fake' : 'real'} ${i}`) }));
    const calls: string[] = [];
    let done = 0;
    const workers = [0, 1].map(() =>
      startWorker({
        connection: parseQueueUrl(redis.url),
        secret,
        loaders: honest(calls),
        concurrency: 1,
        lockDurationMs: 2000,
        onError: () => {},
        onJobDone: () => void done++,
      }),
    );
    try {
      const running = runQueuedBatch(batch(inputs, { run: 'restart' }));
      while (done < 15) await new Promise((resolve) => setTimeout(resolve, 10));
      await redis.restart();
      const outcomes = await running;
      expect(outcomes.map((o) => o.name)).toEqual(inputs.map((i) => i.name));
      for (const [i, outcome] of outcomes.entries()) {
        expect(outcome.result).toEqual({ ok: true, value: { text: inputs[i].bytes.toString(), verdict: i % 3 === 0 ? 'likely-synthetic' : 'no-evidence' } });
      }
      expect(outcomes.some((o) => o.jobFailed)).toBe(false);
      expect((await deadLetters()).total).toBe(0);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  }, 60_000);
});

describe('a job that lost its bytes (Redis restarted between storing them and adding the job)', () => {
  it('is submitted again with its bytes by the enqueuing command, completes, and leaves no dead letter', async () => {
    const inputs = [{ name: 'lost.png', bytes: Buffer.from('fake lost bytes') }, { name: 'kept.png', bytes: Buffer.from('real kept bytes') }];
    const options = { run: 'lost-bytes' };
    const lostId = jobIdOf(secret, 'screen', optionsHashOf('screen', options), sha256Hex(inputs[0].bytes));
    const queue = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
    const client = await redisCommands(queue);
    const calls: string[] = [];
    let worker: ReturnType<typeof startWorker> | undefined;
    try {
      // No worker yet: the jobs wait; then the bytes of one vanish, as after a restart mid-submit.
      const running = runQueuedBatch(batch(inputs, options));
      while ((await queue.getJob(lostId)) === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await client.del(keys.blob(lostId))).toBe(1);
      worker = startWorker({ connection: parseQueueUrl(redis.url), secret, loaders: honest(calls), concurrency: 1, lockDurationMs: 2000, onError: () => {} });
      const outcomes = await running;
      expect(outcomes.map((o) => o.result)).toEqual([
        { ok: true, value: { text: 'fake lost bytes', verdict: 'likely-synthetic' } },
        { ok: true, value: { text: 'real kept bytes', verdict: 'no-evidence' } },
      ]);
      expect(outcomes.some((o) => o.jobFailed)).toBe(false);
      // Run once the bytes were back (the first attempt failed before calling the processor).
      expect(calls.filter((c) => c === 'fake lost bytes')).toHaveLength(1);
      // Not left in the dead letters operators read: it did not fail.
      expect((await deadLetters()).newest.map((e) => e.jobId)).not.toContain(lostId);
    } finally {
      await worker?.close();
      await queue.close();
    }
  }, 60_000);
});

describe('terminal escapes in the worker log and queue-status', () => {
  it('a job named with ESC sequences and a newline is logged and listed escaped', async () => {
    const hostile = 'evil\u001b]0;pwned\u0007\u001b[2J\ncompleted forged.png (screen done)\u202e.png';
    const worker = startCliWorker(redis.url);
    try {
      await pushJob({ kind: 'screen', sha256: sha256Hex('x'), fileName: hostile, optionsHash: '0'.repeat(64), options: {} }, Buffer.from('x'), {
        signed: false,
        jobId: 'hostile-escape-name',
      });
      await waitForDeadLetter('hostile-escape-name', 60_000);
      const deadline = Date.now() + 20_000;
      while (!worker.log().includes('hostile') && !worker.log().includes('evil') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const status = await run(['queue-status', '--queue', redis.url, '--dead-letters', '50']);
      expect(status.code, status.stderr).toBe(0);
      for (const output of [worker.log(), status.stdout]) {
        expect(output).toContain('evil\\e]0;pwned\\x07\\e[2J\\ncompleted forged.png (screen done)\\u202e.png');
        // eslint-disable-next-line no-control-regex
        expect(output).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
      }
    } finally {
      await stop(worker.child);
    }
  }, 120_000);
});
