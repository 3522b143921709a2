import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  /** Total becomes known late for streamed inputs, so it can be set after start. */
  setTotal(total: number): void;
  increment(by?: number): void;
  stop(): void;
}

const silent: Progress = { setTotal() {}, increment() {}, stop() {} };

/** Seconds as "45s" or "1m25s". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  return whole < 60 ? `${whole}s` : `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

/**
 * Time left, from the rate measured since the first item finished (so loading models and warming
 * up, which happen before it, do not count as per-item time); undefined until two items are in.
 */
export function estimateRemaining(done: number, total: number, since: { done: number; ms: number } | undefined, nowMs: number): number | undefined {
  if (since === undefined || done <= since.done || nowMs <= since.ms) return undefined;
  const perSecond = (done - since.done) / ((nowMs - since.ms) / 1000);
  return Math.max(0, total - done) / perSecond;
}

/**
 * A progress bar on stderr when stderr is a TTY and the output is not machine-readable
 * (--json/--csv on stdout); silent otherwise, so piped output stays clean. Nothing is drawn until
 * the total is known (no full bar at 0/0), and the estimate comes from the measured rate.
 */
export function createProgress(
  label: string,
  options: {
    quiet?: boolean;
    total?: number;
    /** Counts the total, called only when a bar is shown (a streamed run's counting pass costs nothing when piped). */
    count?: () => Promise<number>;
  } = {},
): Progress {
  if (options.quiet || !process.stderr.isTTY || process.env.CI) return silent;
  let bar: SingleBar | undefined;
  let total = options.total ?? 0;
  let done = 0;
  let since: { done: number; ms: number } | undefined;
  const eta = (): string => {
    const seconds = estimateRemaining(done, total, since, performance.now());
    return seconds === undefined ? 'estimating…' : `about ${formatDuration(seconds)} left`;
  };
  const draw = (): void => {
    if (total <= 0) return;
    if (bar === undefined) {
      bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {eta_text}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
      bar.start(total, done, { eta_text: eta() });
    } else bar.update(done, { eta_text: eta() });
  };
  let stopped = false;
  const setTotal = (value: number): void => {
    if (stopped) return;
    total = value;
    bar?.setTotal(value);
    draw();
  };
  // A failed count only leaves the bar undrawn; the run itself reports its inputs' errors.
  options.count?.().then(setTotal, () => undefined);
  return {
    setTotal,
    increment: (by = 1) => {
      done += by;
      since ??= { done, ms: performance.now() };
      draw();
    },
    stop: () => {
      stopped = true;
      bar?.stop();
    },
  };
}
