/**
 * Everything read back from Redis is checked against these schemas before it is used: job data on
 * the worker side, signed results and their values on the enqueuing side. A value that does not
 * match is never trusted, whatever its signature says.
 */
import { z } from 'zod';
import { VERDICTS } from '../screen/fusion.js';
import { SIGNAL_IDS } from '../screen/signals/types.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');

export const jobDataSchema = z.strictObject({
  kind: z.enum(['screen', 'bias']),
  sha256,
  fileName: z.string().max(4096),
  optionsHash: sha256,
  options: z.unknown(),
  mac: z.string().regex(/^[0-9a-f]{64}$/, 'a hex HMAC-SHA256'),
});

export const jobResultSchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), value: z.unknown() }),
  z.strictObject({ ok: z.literal(false), error: z.string() }),
]);

export const signedResultSchema = z.strictObject({ result: jobResultSchema, mac: z.string() });

const probability = z.number().min(0).max(1);

/**
 * One screening record as a worker returns it. The fields a verdict rests on are checked exactly;
 * the signal details are checked for shape. A record "ok" without a verdict or score, or "error"
 * without a reason, is refused.
 */
export const screenValueSchema = z
  .looseObject({
    file: z.string(),
    sha256: sha256.nullable(),
    media: z.enum(['image', 'video']),
    status: z.enum(['ok', 'error']),
    error: z.string().nullable(),
    format: z.string().nullable(),
    width: z.number().int().nonnegative().nullable(),
    height: z.number().int().nonnegative().nullable(),
    score: probability.nullable(),
    verdict: z.enum(VERDICTS).nullable(),
    reasons: z.array(z.string()),
    signalsRun: z.array(z.enum(SIGNAL_IDS)),
    signalsMissing: z.array(z.looseObject({ signal: z.enum(SIGNAL_IDS), reason: z.string() })),
    thresholds: z.looseObject({ likelySynthetic: probability, uncertain: probability }).nullable(),
    // The out-of-distribution check a verdict rests on (absent from workers older than it).
    distribution: z.looseObject({ inDistribution: z.boolean(), distance: z.number().nullable(), threshold: z.number(), why: z.array(z.string()) }).nullable().optional(),
    signals: z.record(z.enum(SIGNAL_IDS), z.looseObject({ score: probability, raw: z.number() }).optional()),
  })
  .refine((record) => (record.status === 'ok' ? record.verdict !== null && record.score !== null && record.error === null : record.error !== null), {
    message: 'status "ok" needs a verdict and a score and no error; status "error" needs an error',
  });

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const observationBase = { sha256, provider: z.string(), cached: z.boolean() };

/** One bias observation as a worker returns it (float arrays as base64 of their bytes). */
export const observationValueSchema = z.discriminatedUnion('observation', [
  z.strictObject({ ...observationBase, observation: z.literal('embedding'), embedding: base64 }),
  z.strictObject({
    ...observationBase,
    observation: z.literal('classification'),
    logits: base64,
    probabilities: base64,
    top: z.array(z.strictObject({ label: z.string(), index: z.number().int().nonnegative(), probability })),
  }),
  z.strictObject({
    ...observationBase,
    observation: z.literal('reconstruction'),
    reconstructionError: base64,
    patchErrors: base64,
    masks: z.number().int().positive(),
  }),
]);

/** The first problem zod found, as "path: message", for error records and dead letters. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}` : 'invalid';
}
