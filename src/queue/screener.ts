import { loadProbe, DEFAULT_PROBE_PATH } from '../screen/probe.js';
import type { ScreenFileResult } from '../screen/result.js';
import { errorResult } from '../screen/run.js';
import { probeSummary, selectSignals, type Screener, type ScreenerOptions } from '../screen/screener.js';
import { parseQueueUrl, redactQueueUrl } from './connection.js';
import { runQueuedBatch } from './enqueue.js';
import { queueSecretFromEnv } from './integrity.js';
import { queuedScreenOptions } from './processors.js';
import { screenValueSchema } from './schemas.js';

/** A queued screener also counts the jobs that failed (dead-lettered or never verified), for the exit code. */
export interface QueuedScreener extends Screener {
  failedJobs(): number;
}

/**
 * A Screener whose images are scored by `vigil worker` processes through Redis, so that
 * `vigil screen <dir> --queue redis://...` builds the same results.json as a local run (same
 * runScreen, same per-file records from the same screener code on the workers). Only the probe is
 * read here; the models load on the workers. Evidence images are not produced (their `evidence`
 * fields are null): workers on other machines cannot write into this run's --out folder.
 */
export async function createQueuedScreener(url: string, options: ScreenerOptions): Promise<QueuedScreener> {
  const connection = parseQueueUrl(url);
  const secret = queueSecretFromEnv();
  let failedJobs = 0;
  const probePath = options.probePath ?? DEFAULT_PROBE_PATH;
  const probe = await loadProbe(probePath);
  const signals = selectSignals(probe, options.signals, probePath);
  const queuedOptions = await queuedScreenOptions({
    probePath: options.probePath ?? null,
    signals: options.signals === undefined ? null : signals,
    clipDir: options.clipDir ?? null,
    maeDir: options.maeDir ?? null,
    device: options.device ?? 'cpu',
  });
  return {
    probe,
    summary: probeSummary(probePath, probe),
    signals,
    failedJobs: () => failedJobs,
    async screen(inputs, batch = {}) {
      const outcomes = await runQueuedBatch({
        connection,
        displayUrl: redactQueueUrl(url),
        kind: 'screen',
        options: queuedOptions,
        secret,
        valueSchema: screenValueSchema,
        inputs,
        onSettled: (count) => {
          for (let i = 0; i < count; i++) batch.onItem?.();
        },
      });
      failedJobs += outcomes.filter((outcome) => outcome.jobFailed).length;
      return outcomes.map((outcome) =>
        outcome.result.ok
          ? // The job ran under the first name seen with these bytes; each input keeps its own.
            { ...(outcome.result.value as ScreenFileResult), file: outcome.name }
          : errorResult(outcome.name, outcome.result.error, outcome.sha256 ?? null),
      );
    },
    release: async () => {},
  };
}
