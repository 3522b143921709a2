/**
 * Binary masks in COCO's conventions: run-length encodings (uncompressed counts or the compressed
 * string), polygons rasterised as pycocotools' rleFrPoly does (boundary upsampled ×5, y-boundary
 * points downsampled), column-major pixel order, and IoU where a crowd region divides by the
 * detection's area only.
 */

/** A binary mask, pixels in column-major order (COCO's RLE order): index = x * height + y. */
export interface BinaryMask {
  height: number;
  width: number;
  data: Uint8Array;
}

/** Decodes run lengths (alternating 0s and 1s, starting with 0s) to a mask. */
export function decodeCounts(counts: readonly number[], height: number, width: number): BinaryMask {
  const data = new Uint8Array(height * width);
  let at = 0;
  let value = 0;
  for (const count of counts) {
    if (!Number.isInteger(count) || count < 0) throw new Error(`RLE counts must be non-negative integers, found ${count}`);
    if (at + count > data.length) throw new Error(`RLE counts cover ${at + count} pixels but the mask has ${data.length} (${height}×${width})`);
    if (value === 1) data.fill(1, at, at + count);
    at += count;
    value ^= 1;
  }
  if (at !== data.length) throw new Error(`RLE counts cover ${at} pixels but the mask has ${data.length} (${height}×${width})`);
  return { height, width, data };
}

/** Run lengths of a mask (the uncompressed RLE `counts`). */
export function encodeCounts(mask: BinaryMask): number[] {
  const counts: number[] = [];
  let value = 0;
  let run = 0;
  for (const pixel of mask.data) {
    if (pixel !== value) {
      counts.push(run);
      run = 0;
      value = pixel;
    }
    run++;
  }
  counts.push(run);
  return counts;
}

/** pycocotools' rleFrString: COCO's compressed counts string to run lengths. */
export function countsFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error('compressed RLE string ends inside a number');
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`compressed RLE string has an invalid character ${JSON.stringify(s[p])}`);
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10) !== 0) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** pycocotools' rleToString: run lengths to COCO's compressed counts string. */
export function countsToString(counts: readonly number[]): string {
  let s = '';
  counts.forEach((count, i) => {
    let x = count;
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = (c & 0x10) !== 0 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  });
  return s;
}

/** pycocotools' rleFrPoly: one polygon [x0, y0, x1, y1, ...] to run lengths of an h × w mask. */
export function polygonCounts(xy: readonly number[], h: number, w: number): number[] {
  const k = Math.floor(xy.length / 2);
  const scale = 5;
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  // C's (int) cast truncates toward zero.
  for (let j = 0; j < k; j++) x[j] = Math.trunc(scale * xy[2 * j] + 0.5);
  x[k] = x[0];
  for (let j = 0; j < k; j++) y[j] = Math.trunc(scale * xy[2 * j + 1] + 0.5);
  y[k] = y[0];
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(Math.trunc(ys + s * t + 0.5));
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(Math.trunc(xs + s * t + 0.5));
      }
    }
  }
  const a: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    a.push(xd * h + yd);
  }
  a.push(h * w);
  a.sort((p, q) => p - q);
  let previous = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= previous;
    previous = t;
  }
  const b: number[] = [];
  let j = 0;
  b.push(a[j++]);
  while (j < a.length) {
    if (a[j] > 0) b.push(a[j++]);
    else {
      j++;
      if (j < a.length) b[b.length - 1] += a[j++];
    }
  }
  return b;
}

/** A mask from COCO polygons (their union, as annToRLE merges them). */
export function polygonsToMask(polygons: readonly (readonly number[])[], height: number, width: number): BinaryMask {
  const union = new Uint8Array(height * width);
  for (const polygon of polygons) {
    const part = decodeCounts(polygonCounts(polygon, height, width), height, width);
    for (let i = 0; i < union.length; i++) union[i] |= part.data[i];
  }
  return { height, width, data: union };
}

export function maskArea(mask: BinaryMask): number {
  let area = 0;
  for (const pixel of mask.data) area += pixel;
  return area;
}

/** IoU of two masks of the same size; with `crowd`, intersection over the first (detection) mask's area. */
export function masksIou(d: BinaryMask, g: BinaryMask, crowd: boolean): number {
  if (d.height !== g.height || d.width !== g.width) {
    throw new Error(`masks differ in size: ${d.width}×${d.height} and ${g.width}×${g.height}`);
  }
  let inter = 0;
  let da = 0;
  let ga = 0;
  for (let i = 0; i < d.data.length; i++) {
    const a = d.data[i];
    const b = g.data[i];
    da += a;
    ga += b;
    inter += a & b;
  }
  const union = crowd ? da : da + ga - inter;
  // rleIou: an empty union gives 0.
  return union === 0 ? 0 : inter / union;
}

/** A mask from a row-major label map: pixels whose label is in `labels`. */
export function maskFromLabels(labels: ArrayLike<number>, height: number, width: number, wanted: (label: number) => boolean): BinaryMask {
  const data = new Uint8Array(height * width);
  for (let yy = 0; yy < height; yy++) {
    for (let xx = 0; xx < width; xx++) if (wanted(labels[yy * width + xx])) data[xx * height + yy] = 1;
  }
  return { height, width, data };
}
