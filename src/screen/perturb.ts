import sharp from 'sharp';

/**
 * The robustness sweep of `vigil screen eval --robustness` (DeepfakeBench's protocol): the same
 * images re-scored after the transformations uploads go through. Each perturbation is pure
 * (bytes in, bytes out); sharp drops metadata on re-encoding, as upload pipelines do.
 */
export interface Perturbation {
  id: string;
  description: string;
  apply(bytes: Uint8Array): Promise<Buffer>;
}

const jpeg = (quality: number): Perturbation => ({
  id: `jpeg-q${quality}`,
  description: `JPEG re-encoding at quality ${quality}`,
  apply: (bytes) => sharp(bytes).jpeg({ quality }).toBuffer(),
});

export const PERTURBATIONS: readonly Perturbation[] = [
  jpeg(90),
  jpeg(75),
  jpeg(50),
  {
    id: 'resize-0.5',
    description: 'Downscale to half size (Lanczos), saved losslessly',
    apply: async (bytes) => {
      const { width = 2, height = 2 } = await sharp(bytes).metadata();
      return sharp(bytes).resize(Math.max(1, Math.round(width / 2)), Math.max(1, Math.round(height / 2)), { kernel: 'lanczos3' }).png().toBuffer();
    },
  },
  {
    id: 'crop-0.9',
    description: 'Centre crop keeping 90% of width and height, saved losslessly',
    apply: async (bytes) => {
      const { width = 1, height = 1 } = await sharp(bytes).metadata();
      const w = Math.max(1, Math.round(width * 0.9));
      const h = Math.max(1, Math.round(height * 0.9));
      return sharp(bytes).extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h }).png().toBuffer();
    },
  },
  {
    id: 'blur-1',
    description: 'Gaussian blur with sigma 1, saved losslessly',
    apply: (bytes) => sharp(bytes).blur(1).png().toBuffer(),
  },
];
