import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilInputError } from '../../src/core/errors.js';
import { SeededRandom } from '../../src/core/random.js';
import { verifyBytes } from '../../src/provenance/verify.js';
import { jumbfRanges } from '../../tools/fuzz.js';
import { CONFORMANCE_DIR, hostileImages, withinTime } from './hostile-inputs.js';

const hasConformance = existsSync(CONFORMANCE_DIR);

/** verifyBytes must return a verdict or throw a VigilInputError: anything else is a crash. */
async function verifyOrNamedError(bytes: Buffer, name: string): Promise<{ state?: string; error?: string }> {
  try {
    return await withinTime(verifyBytes(bytes, name), 15_000, `verify ${name}`);
  } catch (error) {
    if (error instanceof VigilInputError) return { error: error.message };
    throw error;
  }
}

describe('provenance verify on hostile input', () => {
  it('answers every hostile image with a verdict or a named error', async () => {
    for (const { name, bytes } of await hostileImages()) {
      const outcome = await verifyOrNamedError(bytes, name);
      expect(outcome.state ?? outcome.error, name).toBeTruthy();
      if (bytes.length === 0) expect(outcome.error).toMatch(/empty\.jpg/);
    }
  });

  it.skipIf(!hasConformance)('finds the JUMBF manifest store of every signed conformance file', async () => {
    const signed = ['C.jpg', 'CA.jpg', 'CACA.jpg', 'XCA.jpg'];
    for (const name of signed) {
      const ranges = jumbfRanges(await readFile(join(CONFORMANCE_DIR, name)));
      expect(ranges.length, name).toBeGreaterThan(0);
    }
    expect(jumbfRanges(await readFile(join(CONFORMANCE_DIR, 'no_manifest.jpg')))).toEqual([]);
  });

  it.skipIf(!hasConformance)('turns byte flips inside the JUMBF of signed files into Invalid verdicts, never crashes', async () => {
    const files = (await readdir(CONFORMANCE_DIR)).filter((f) => /\.(jpg|png|webp)$/.test(f)).sort();
    const random = new SeededRandom(7);
    let flipped = 0;
    const states = new Map<string, number>();
    for (const name of files) {
      const original = await readFile(join(CONFORMANCE_DIR, name));
      const ranges = jumbfRanges(original);
      if (ranges.length === 0) continue;
      for (let trial = 0; trial < 6; trial++) {
        const bytes = Buffer.from(original);
        const [start, end] = ranges[random.int(ranges.length)];
        // Past the first 64 bytes of the store: its box headers and the claim, not the APP11 framing.
        const at = Math.min(end - 1, start + 64 + random.int(Math.max(1, end - start - 64)));
        bytes[at] ^= 0x5a;
        const outcome = await verifyOrNamedError(bytes, `${name} flipped @${at}`);
        const key = outcome.state ?? 'named-error';
        states.set(key, (states.get(key) ?? 0) + 1);
        flipped++;
      }
    }
    expect(flipped).toBeGreaterThanOrEqual(60);
    // Most flips break a hash or signature; none may pass as Trusted.
    expect(states.get('Invalid') ?? 0).toBeGreaterThan(flipped / 2);
    expect(states.has('Trusted')).toBe(false);
  }, 120_000);
});
