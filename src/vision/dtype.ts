// No onnxruntime import here: the CLI reads these names for its option help without loading it.
import type { Dtype, DtypeChoice } from './types.js';

/**
 * The ONNX variants a transformers.js-style model repository ships per graph, and the file-name
 * suffix each has: `onnx/vision_model_quantized.onnx` is the q8 variant of the image tower.
 */
export const DTYPE_SUFFIX: Readonly<Record<Dtype, string>> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

export const DTYPES = Object.keys(DTYPE_SUFFIX) as Dtype[];
export const DTYPE_CHOICES: readonly DtypeChoice[] = [...DTYPES, 'auto'];

/**
 * The order `auto` tries variants in on the CPU, fastest first: onnxruntime's int8 kernels
 * (VNNI/AVX-512 where present) beat fp32; its fp16 kernels are few on the CPU, so fp16 graphs run
 * mostly through inserted casts and are slower than fp32. A variant other than fp32 is only taken
 * when `vigil models compare` recorded that it holds the accuracy contract against fp32.
 */
export const CPU_SPEED_ORDER: readonly Dtype[] = ['q8', 'int8', 'uint8', 'q4', 'fp32', 'fp16', 'q4f16', 'bnb4'];

export function isDtypeChoice(value: unknown): value is DtypeChoice {
  return typeof value === 'string' && (DTYPE_CHOICES as readonly string[]).includes(value);
}

/** `onnx/vision_model` + q8 → `onnx/vision_model_quantized.onnx`. */
export function variantFile(base: string, dtype: Dtype): string {
  return `${base}${DTYPE_SUFFIX[dtype]}.onnx`;
}

/** The dtypes whose file exists for a graph base name (`has` tests a folder-relative path). */
export function variantsPresent(base: string, has: (file: string) => boolean): Dtype[] {
  return DTYPES.filter((dtype) => has(variantFile(base, dtype)));
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 → binary16 bits, round to nearest even (overflow → ±Inf, NaN kept). */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i];
    const x = u32[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      // Subnormal half: shift the mantissa (with its implicit 1) right, rounding to nearest even.
      mant |= 0x800000;
      const shift = 14 - e;
      const half = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      out[i] = sign | (half + (rem > mid || (rem === mid && (half & 1) === 1) ? 1 : 0));
    } else {
      const half = (e << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      // A carry out of the mantissa correctly bumps the exponent (up to Inf).
      out[i] = sign | (half + (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1) ? 1 : 0));
    }
  }
  return out;
}

/** binary16 bits → float32 values (exact). */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) out[i] = mant === 0 ? sign * Infinity : NaN;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}
