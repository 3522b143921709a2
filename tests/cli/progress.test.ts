import { describe, expect, it } from 'vitest';
import { estimateRemaining, formatDuration } from '../../src/core/progress.js';

describe('progress estimates', () => {
  it('waits for two finished items, then extrapolates the measured rate', () => {
    expect(estimateRemaining(0, 100, undefined, 1000)).toBeUndefined();
    // First item done at t=10 s (after a long model load), next 10 items took 5 s: 0.5 s per item.
    const since = { done: 1, ms: 10_000 };
    expect(estimateRemaining(1, 100, since, 10_000)).toBeUndefined();
    expect(estimateRemaining(11, 100, since, 15_000)).toBeCloseTo(44.5, 6);
    expect(estimateRemaining(100, 100, since, 20_000)).toBe(0);
  });

  it('formats durations as a person reads them', () => {
    expect(formatDuration(4.6)).toBe('5s');
    expect(formatDuration(85)).toBe('1m25s');
    expect(formatDuration(-3)).toBe('0s');
  });
});
