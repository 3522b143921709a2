import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    reporters: ['default', './tests/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: ONNX sessions and wasm already use threads; forks keep native addons isolated.
    pool: 'forks',
    maxWorkers: 2,
  },
});
