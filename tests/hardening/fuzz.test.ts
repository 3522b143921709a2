import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/core/random.js';
import { mutateBytes, runFuzz } from '../../tools/fuzz.js';

describe('fuzz (short seeded round)', () => {
  it('mutations are reproducible from the seed', () => {
    const seed = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'.repeat(8));
    const a = mutateBytes(seed, new SeededRandom(42));
    const b = mutateBytes(seed, new SeededRandom(42));
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.description).toBe(b.description);
    expect(Buffer.from(a.bytes).equals(seed)).toBe(false);
  });

  it('every mutated image, manifest and probe CSV ends in a result or a named error', async () => {
    const report = await runFuzz({ iterations: 150, seed: 20261127, timeoutMs: 15_000, quiet: true });
    expect(report.totals.inputs).toBe(150);
    for (const target of ['screen', 'verify', 'probes']) expect(report.targets[target].inputs).toBe(50);
    // Mutations must reach the error paths, not only produce valid inputs.
    expect(report.totals['named-error']).toBeGreaterThan(20);
    expect(report.findings).toEqual([]);
    expect(report.totals.crash + report.totals.hang).toBe(0);
  }, 180_000);
});
