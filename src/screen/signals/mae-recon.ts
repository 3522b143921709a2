import { applyPlatt, type PlattCalibration } from '../logistic.js';
import type { SignalMeta, SignalScore } from './types.js';

export const maeReconMeta: SignalMeta = {
  id: 'mae-recon',
  title: 'MAE reconstruction error',
  description:
    'How well a masked autoencoder reconstructs the image from a random quarter of its patches, averaged over ' +
    'several seeded masks and normalised against real training images (in the spirit of AEROBLADE: images ' +
    'made by generative decoders are reconstructed unusually well or badly). Training-free apart from the ' +
    'normalisation; the direction and strength are learned by calibration.',
  requires: 'an MAE model folder (the one the probe was calibrated with)',
  needs: ['mae-reconstruction', 'trained-model'],
};

/** The calibrated normalisation of the MAE signal (stored in the probe file). */
export interface MaeReconModel {
  maeModelSha256: string;
  maeModelDir: string;
  /** Masks averaged per image and the seed of the first (mask i uses seed + i). */
  masks: number;
  seed: number;
  /** Mean and standard deviation of log reconstruction error over the real training images. */
  realLogErrorMean: number;
  realLogErrorStd: number;
  calibration: PlattCalibration;
}

export interface MaeReconScore extends SignalScore {
  /** Mean reconstruction error over masked patches (averaged over masks). */
  reconstructionError: number;
}

/** MAE score (pure): raw = z-score of log reconstruction error against real training images; score = calibrated probability. */
export function scoreMaeRecon(reconstructionError: number, model: MaeReconModel): MaeReconScore {
  const raw = (Math.log(Math.max(reconstructionError, 1e-12)) - model.realLogErrorMean) / model.realLogErrorStd;
  return { raw, score: applyPlatt(model.calibration, raw), reconstructionError };
}
