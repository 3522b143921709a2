import type { DecodedImage } from '../image.js';
import { clipProbeMeta } from './clip-probe.js';
import { maeReconMeta } from './mae-recon.js';
import { metadataMeta } from './metadata.js';
import { analyzeResidual, RESIDUAL_FEATURE_NAMES, residualMeta } from './residual.js';
import { analyzeSpectrum, SPECTRAL_FEATURE_NAMES, spectralMeta, type SpectralAnalysis } from './spectral.js';
import type { SignalId, SignalMeta } from './types.js';

/** Metadata of every signal, by id (for --help, docs and reports). */
export const SIGNALS: Readonly<Record<SignalId, SignalMeta>> = {
  spectral: spectralMeta,
  residual: residualMeta,
  'clip-probe': clipProbeMeta,
  'mae-recon': maeReconMeta,
  metadata: metadataMeta,
};

/** What a pixel-feature signal extracts from one decoded image. */
export interface FeatureExtraction {
  features: number[];
  /** Model-free statistic reported beside the score (residual), when the signal has one. */
  statistic?: number;
  /** Spectral: the analysis behind the evidence image. */
  spectrum?: SpectralAnalysis;
}

/**
 * A signal computed from decoded pixels into a feature vector, scored by a logistic model trained
 * by `vigil screen train`. The fast path extracts, train fits and the screener scores every entry
 * of FEATURE_SIGNALS the same way; a new one needs only an entry here.
 */
export interface FeatureSignal {
  id: 'spectral' | 'residual';
  meta: SignalMeta;
  featureNames: readonly string[];
  /** Pure; throws (an input error naming the size) when the image is too small. */
  extract(image: DecodedImage): FeatureExtraction;
}

export type FeatureSignalId = FeatureSignal['id'];

export const FEATURE_SIGNALS: readonly FeatureSignal[] = [
  {
    id: 'spectral',
    meta: spectralMeta,
    featureNames: SPECTRAL_FEATURE_NAMES,
    extract(image) {
      const spectrum = analyzeSpectrum(image);
      return { features: spectrum.features, spectrum };
    },
  },
  {
    id: 'residual',
    meta: residualMeta,
    featureNames: RESIDUAL_FEATURE_NAMES,
    extract(image) {
      const { features, statistic } = analyzeResidual(image);
      return { features, statistic };
    },
  },
];
