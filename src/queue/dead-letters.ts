import type { Job } from 'bullmq';
import type { RedisCommands } from './redis.js';
import { DEAD_LETTER_LIMIT, keys, type DeadLetter } from './protocol.js';

/** A field of job data that may have been written by anyone: kept only when it is a short string. */
function textField(data: unknown, field: string): string {
  const value = data !== null && typeof data === 'object' ? (data as Record<string, unknown>)[field] : undefined;
  return typeof value === 'string' ? value.slice(0, 4096) : '(unknown)';
}


/**
 * Adds a job that failed for good to the dead-letter list, once. Workers see failures thrown by a
 * processor; only the enqueuing command sees jobs failed by BullMQ's stalled check (a worker that
 * died on them too often), so both call this and the id set keeps one entry per failure.
 */
export async function recordDeadLetter(client: RedisCommands, job: Job): Promise<boolean> {
  if (job.id === undefined) return false;
  if ((await client.sadd(keys.deadLetterIds, job.id)) === 0) return false;
  const letter: DeadLetter = {
    jobId: job.id,
    kind: textField(job.data, 'kind'),
    sha256: textField(job.data, 'sha256'),
    fileName: textField(job.data, 'fileName'),
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

/**
 * Removes a job's entries from the dead-letter list, for a failure that was not one: a job whose
 * bytes Redis lost and that the enqueuing command submitted again (see missingBytesReason).
 * Operators read the list as what needs their attention. Rare, so scanning the list is fine.
 */
export async function withdrawDeadLetter(client: RedisCommands, jobId: string): Promise<void> {
  for (const text of await client.lrange(keys.deadLetters, 0, -1)) {
    if (parseDeadLetter(text).jobId === jobId) await client.lrem(keys.deadLetters, 0, text);
  }
  await forgetDeadLetter(client, jobId);
}

export async function readDeadLetters(client: RedisCommands, limit: number): Promise<{ total: number; newest: DeadLetter[] }> {
  const total = await client.llen(keys.deadLetters);
  const newest = (await client.lrange(keys.deadLetters, 0, limit - 1)).map(parseDeadLetter);
  return { total, newest };
}

/** A dead-letter entry as read back from Redis: anyone could have written it, so every field is checked. */
function parseDeadLetter(text: string): DeadLetter {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = {};
  }
  const field = (name: string): string => textField(value, name);
  const attempts = value !== null && typeof value === 'object' ? (value as Record<string, unknown>).attemptsMade : undefined;
  return {
    jobId: field('jobId'),
    kind: field('kind'),
    sha256: field('sha256'),
    fileName: field('fileName'),
    failedReason: field('failedReason'),
    attemptsMade: typeof attempts === 'number' && Number.isSafeInteger(attempts) ? attempts : 0,
    failedAt: field('failedAt'),
  };
}
