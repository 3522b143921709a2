import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { errorMessage, VigilInputError } from '../core/errors.js';
import { MAX_CONFIG_BYTES, readInputFile } from '../core/files.js';

/** File name of the record `vigil models compare` keeps in a model folder. */
export const COMPARE_RECORD = 'vigil-compare.json';

const entrySchema = z.object({
  /** The variant graph compared, relative to the folder (e.g. `onnx/vision_model_quantized.onnx`). */
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Its fp32 reference graph. */
  reference: z.string(),
  referenceSha256: z.string().regex(/^[0-9a-f]{64}$/),
  dtype: z.string(),
  images: z.number().int().nonnegative(),
  cosineMean: z.number(),
  cosineMin: z.number(),
  top1Agreement: z.number().nullable(),
  passed: z.boolean(),
  comparedAt: z.string(),
});

const recordSchema = z.object({ schema: z.literal('vigil/compare-record'), entries: z.array(entrySchema) });

export type CompareRecordEntry = z.infer<typeof entrySchema>;

/**
 * The entries of a folder's vigil-compare.json (none when the file is absent). The entries bind a
 * verdict to the sha256 of both files, so an edited or swapped graph is no longer trusted.
 */
export async function readCompareRecord(root: string, label: string): Promise<CompareRecordEntry[]> {
  const path = join(root, COMPARE_RECORD);
  if (!existsSync(path)) return [];
  const text = (await readInputFile(path, { what: label, maxBytes: MAX_CONFIG_BYTES })).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new VigilInputError(`${label} is not valid JSON (${errorMessage(error)})`, { subject: label });
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VigilInputError(`${label}: field ${issue.path.join('.') || '(root)'}: ${issue.message} (written by vigil models compare; delete it to start over)`, {
      subject: label,
    });
  }
  return parsed.data.entries;
}
