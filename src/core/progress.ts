import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  /** Total becomes known late for streamed inputs, so it can be set after start. */
  setTotal(total: number): void;
  increment(by?: number): void;
  stop(): void;
}

const silent: Progress = { setTotal() {}, increment() {}, stop() {} };

/**
 * A progress bar on stderr when stderr is a TTY and the output is not machine-readable
 * (--json/--csv on stdout); silent otherwise, so piped output stays clean.
 */
export function createProgress(label: string, options: { quiet?: boolean; total?: number } = {}): Progress {
  if (options.quiet || !process.stderr.isTTY || process.env.CI) return silent;
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} {eta_formatted}`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(options.total ?? 0, 0);
  return {
    setTotal: (total) => bar.setTotal(total),
    increment: (by = 1) => bar.increment(by),
    stop: () => bar.stop(),
  };
}
