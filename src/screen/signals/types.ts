/**
 * Shared shapes of the screening signals. Each signal is one module under src/screen/signals/
 * exporting its metadata (`SignalMeta`) and one pure scoring function returning a `SignalScore`.
 */
export const SIGNAL_IDS = ['spectral', 'residual', 'clip-probe', 'mae-recon', 'metadata'] as const;
export type SignalId = (typeof SIGNAL_IDS)[number];

export function isSignalId(value: string): value is SignalId {
  return (SIGNAL_IDS as readonly string[]).includes(value);
}

export interface SignalMeta {
  id: SignalId;
  title: string;
  /** What the signal measures and what it cannot see. */
  description: string;
  /** What must be available for the signal to run (a model, a trained component), in words. */
  requires: string;
  /** The same as artifacts the screener, train and probe provide (Lighthouse's requiredArtifacts). */
  needs: readonly SignalInput[];
}

/**
 * What a signal needs: decoded pixels, a CLIP embedding, an MAE reconstruction, the file bytes
 * (metadata), a component trained by `vigil screen train`.
 */
export type SignalInput = 'pixels' | 'clip-embedding' | 'mae-reconstruction' | 'bytes' | 'trained-model';

/** What one signal says about one image. */
export interface SignalScore {
  /** P(synthetic) from this signal alone, calibrated on the training set (class prior of the training set). */
  score: number;
  /** The signal's uncalibrated statistic (a log-odds, an error z-score, ...), documented per signal. */
  raw: number;
}
