import { afterEach, describe, expect, it } from 'vitest';
import { createWorkerPool, type WorkerPool } from '../../src/core/worker-pool.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).href;
let pool: WorkerPool<string, string> | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('core worker pool', () => {
  it("answers requests and passes a handler's error on as that request's failure", async () => {
    pool = createWorkerPool<string, string>(`${FIXTURES}pool.ts`, 'crash-worker', 2);
    expect(await Promise.all(['a', 'b', 'c'].map((r) => pool!.run(r)))).toEqual(['echo a', 'echo b', 'echo c']);
    await expect(pool.run('refuse')).rejects.toThrow('refused');
  });

  it('a worker that crashes or exits fails only its own request; a fresh worker serves the rest', async () => {
    pool = createWorkerPool<string, string>(`${FIXTURES}pool.ts`, 'crash-worker', 1);
    await expect(pool.run('crash')).rejects.toThrow(/worker crash-worker failed: boom/);
    expect(await pool.run('after crash')).toBe('echo after crash');
    await expect(pool.run('exit')).rejects.toThrow(/worker crash-worker exited \(code 3\)/);
    expect(await pool.run('after exit')).toBe('echo after exit');
  });
});
