/**
 * The one disaggregation concept: a sensitive feature (an attribute such as `gender`, or an
 * intersection such as `gender × race`) assigns every observation to one group. Everything in
 * src/bias/metrics is computed per group of a feature, overall, and as disparities between groups.
 */

/** Separator of intersection names and of their group names ("gender × race", "female × Black"). */
export const INTERSECTION_SEPARATOR = ' × ';

export interface Feature {
  /** `gender`, or `gender × race` for an intersection. */
  name: string;
  /** The attributes it combines (one for a plain attribute). */
  components: string[];
  /** Group names, in code order (sorted). */
  groups: string[];
  /** Group code of every observation. */
  codes: Int32Array;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Sorted distinct values with numeric-aware ordering ("age 3-9" before "age 10-19"). */
export function sortedLevels(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Integer codes for string values, levels sorted; `levels` fixes the level order when given. */
export function factorize(values: readonly string[], levels = sortedLevels(values)): { codes: Int32Array; levels: string[] } {
  const index = new Map(levels.map((level, i) => [level, i]));
  const codes = new Int32Array(values.length);
  values.forEach((value, i) => {
    const code = index.get(value);
    if (code === undefined) throw new Error(`factorize: value ${JSON.stringify(value)} is not among the levels`);
    codes[i] = code;
  });
  return { codes, levels };
}

/** A feature from one attribute column. */
export function attributeFeature(name: string, values: readonly string[]): Feature {
  const { codes, levels } = factorize(values);
  return { name, components: [name], groups: levels, codes };
}

/** The intersection of several attribute columns: one group per combination that occurs. */
export function intersectionFeature(components: readonly string[], columns: readonly (readonly string[])[]): Feature {
  const n = columns[0]?.length ?? 0;
  const values = Array.from({ length: n }, (_, i) => columns.map((column) => column[i]).join(INTERSECTION_SEPARATOR));
  const { codes, levels } = factorize(values);
  return { name: components.join(INTERSECTION_SEPARATOR), components: [...components], groups: levels, codes };
}

/**
 * A feature from dictionary codes (levels in any order, as a streaming reader makes them): levels
 * that occur are sorted like sortedLevels and the codes remapped; levels that never occur are dropped.
 */
export function featureFromCodes(name: string, codes: Int32Array, levels: readonly string[]): Feature {
  const seen = new Uint8Array(levels.length);
  for (let i = 0; i < codes.length; i++) seen[codes[i]] = 1;
  const sorted = sortedLevels(levels.filter((_, j) => seen[j] === 1));
  const index = new Map(sorted.map((level, i) => [level, i]));
  const remap = Int32Array.from(levels, (level) => index.get(level) ?? -1);
  const out = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = remap[codes[i]];
  return { name, components: [name], groups: sorted, codes: out };
}

/** The intersection of features by their codes (no per-row strings): one group per combination that occurs. */
export function intersectFeatures(parts: readonly Feature[]): Feature {
  const n = parts[0]?.codes.length ?? 0;
  const combined = combinedCodes(parts, n);
  const names = combined.representatives.map((row) => parts.map((f) => f.groups[f.codes[row]]).join(INTERSECTION_SEPARATOR));
  const feature = featureFromCodes(parts.map((f) => f.name).join(INTERSECTION_SEPARATOR), combined.codes, names);
  return { ...feature, components: parts.flatMap((f) => f.components) };
}

/** Dense codes of the combinations of several features' codes, in order of first appearance. */
function combinedCodes(features: readonly Feature[], n: number): { codes: Int32Array; representatives: number[] } {
  const codes = new Int32Array(n);
  // A number key (mixed radix) while the product of the group counts stays exact, else a string key.
  const seen = new Map<number | string, number>();
  const representatives: number[] = [];
  const radix = features.map((f) => f.groups.length);
  const numeric = radix.reduce((p, r) => p * r, 1) < Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < n; i++) {
    let key: number | string;
    if (numeric) {
      key = 0;
      for (let f = 0; f < features.length; f++) key = key * radix[f] + features[f].codes[i];
    } else key = features.map((f) => f.codes[i]).join(',');
    let code = seen.get(key);
    if (code === undefined) {
      code = representatives.length;
      seen.set(key, code);
      representatives.push(i);
    }
    codes[i] = code;
  }
  return { codes, representatives };
}

/**
 * Strata for a stratified bootstrap: the cross of all features' groups, so that every feature's
 * group sizes stay fixed in every replicate.
 */
export function crossStrata(features: readonly Feature[], n: number): { codes: Int32Array; count: number; groupOf: Int32Array[] } {
  const { codes, representatives } = combinedCodes(features, n);
  const groupOf = features.map((f) => Int32Array.from(representatives, (row) => f.codes[row]));
  return { codes, count: representatives.length, groupOf };
}
