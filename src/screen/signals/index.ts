import { clipProbeMeta } from './clip-probe.js';
import { maeReconMeta } from './mae-recon.js';
import { metadataMeta } from './metadata.js';
import { spectralMeta } from './spectral.js';
import type { SignalId, SignalMeta } from './types.js';

/** Metadata of every signal, by id (for --help, docs and reports). */
export const SIGNALS: Readonly<Record<SignalId, SignalMeta>> = {
  spectral: spectralMeta,
  'clip-probe': clipProbeMeta,
  'mae-recon': maeReconMeta,
  metadata: metadataMeta,
};
