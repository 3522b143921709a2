import type { Job } from 'bullmq';
import type { RedisCommands } from './redis.js';
import { DEAD_LETTER_LIMIT, keys, type DeadLetter, type JobData, type JobResult } from './protocol.js';


/**
 * Adds a job that failed for good to the dead-letter list, once. Workers see failures thrown by a
 * processor; only the enqueuing command sees jobs failed by BullMQ's stalled check (a worker that
 * died on them too often), so both call this and the id set keeps one entry per failure.
 */
export async function recordDeadLetter(client: RedisCommands, job: Job<JobData, JobResult>): Promise<boolean> {
  if (job.id === undefined) return false;
  if ((await client.sadd(keys.deadLetterIds, job.id)) === 0) return false;
  const letter: DeadLetter = {
    jobId: job.id,
    kind: job.data.kind,
    sha256: job.data.sha256,
    fileName: job.data.fileName,
    failedReason: job.failedReason ?? 'unknown',
    attemptsMade: job.attemptsMade,
    failedAt: new Date(job.finishedOn ?? Date.now()).toISOString(),
  };
  await client.lpush(keys.deadLetters, JSON.stringify(letter));
  await client.ltrim(keys.deadLetters, 0, DEAD_LETTER_LIMIT - 1);
  return true;
}

/** A retried job may fail again and then deserves a new entry. */
export async function forgetDeadLetter(client: RedisCommands, jobId: string): Promise<void> {
  await client.srem(keys.deadLetterIds, jobId);
}

export async function readDeadLetters(client: RedisCommands, limit: number): Promise<{ total: number; newest: DeadLetter[] }> {
  const total = await client.llen(keys.deadLetters);
  const newest = (await client.lrange(keys.deadLetters, 0, limit - 1)).map((text) => JSON.parse(text) as DeadLetter);
  return { total, newest };
}
