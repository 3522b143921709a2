/**
 * Ranking fairness of Geyik et al. 2019 (LinkedIn) with the conventions of the reference code of
 * Berg et al. 2022 ("A prompt array keeps the bias away"), so numbers are comparable with the
 * published CLIP audits:
 * - Skew@k of a group = ln(share of the group in the top k / target share), natural log;
 *   a group absent from the top k counts as 1/k (no log of 0).
 * - MaxSkew@k / MinSkew@k = the largest / smallest skew over the groups of the attribute.
 * - NDKL@k = Σ_{i=1..k} KL(top-i shares ‖ target) / log2(i+1), divided by Z = Σ_{i=1..k} 1/log2(i+1);
 *   KL terms with a zero top-i share contribute 0.
 * Targets: `uniform` (1/G per group) or `proportional` (the probe set's own group shares).
 */

export type SkewTarget = 'uniform' | 'proportional';
export const SKEW_TARGETS: readonly SkewTarget[] = ['uniform', 'proportional'];

export interface SkewAtK {
  max_skew: number;
  min_skew: number;
  /** Index of the group with the largest / smallest skew (first on ties). */
  maxGroup: number;
  minGroup: number;
  /** Skew of every group, in group-code order. */
  perGroup: Float64Array;
}

/** Target shares: uniform, or each group's share of the whole probe set. */
export function targetShares(target: SkewTarget, groupCounts: ArrayLike<number>): Float64Array {
  const g = groupCounts.length;
  const shares = new Float64Array(g);
  if (target === 'uniform') return shares.fill(1 / g);
  let total = 0;
  for (let i = 0; i < g; i++) total += groupCounts[i];
  for (let i = 0; i < g; i++) shares[i] = groupCounts[i] / total;
  return shares;
}

/**
 * Skew@k from the group counts within the top k. `k` is the denominator of the shares (the
 * reference divides by k even when fewer than k items exist).
 */
export function skewAtK(topCounts: ArrayLike<number>, k: number, target: Float64Array): SkewAtK {
  const g = target.length;
  const perGroup = new Float64Array(g);
  let maxGroup = 0;
  let minGroup = 0;
  for (let i = 0; i < g; i++) {
    const share = topCounts[i] > 0 ? topCounts[i] / k : 1 / k;
    perGroup[i] = Math.log(share) - Math.log(target[i]);
    if (perGroup[i] > perGroup[maxGroup]) maxGroup = i;
    if (perGroup[i] < perGroup[minGroup]) minGroup = i;
  }
  return { max_skew: perGroup[maxGroup], min_skew: perGroup[minGroup], maxGroup, minGroup, perGroup };
}

/** KL(p ‖ q) in nats with 0·log 0 = 0. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let kl = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) kl += p[i] * (Math.log(p[i]) - Math.log(q[i]));
  return kl;
}

/** Z = Σ_{i=1..k} 1/log2(i+1). */
export function ndklNormalizer(k: number): number {
  let z = 0;
  for (let i = 1; i <= k; i++) z += 1 / Math.log2(i + 1);
  return z;
}

/**
 * NDKL accumulated down a ranking, one position at a time: the single implementation behind
 * ndkl() and every bootstrap replicate's NDKL. Σ_{i=1..n} KL(top-i shares ‖ target) / log2(i+1)
 * so far; `at(k)` divides by Z(k), so positions past a short ranking's end contribute 0.
 */
export class NdklWalk {
  private readonly counts: Float64Array;
  private readonly shares: Float64Array;
  private sum = 0;
  private position = 0;

  constructor(private readonly target: Float64Array) {
    this.counts = new Float64Array(target.length);
    this.shares = new Float64Array(target.length);
  }

  /** The next ranked item belongs to `group`. */
  add(group: number): void {
    this.position++;
    this.counts[group]++;
    for (let j = 0; j < this.counts.length; j++) this.shares[j] = this.counts[j] / this.position;
    this.sum += klDivergence(this.shares, this.target) / Math.log2(this.position + 1);
  }

  /** NDKL@k of the items added so far (k ≥ the number added). */
  at(k: number): number {
    return this.sum / ndklNormalizer(k);
  }
}

/**
 * NDKL@k of a ranking given as group codes, best first. When the ranking is shorter than k the
 * sum stops at its end but Z still runs to k, as in the reference.
 */
export function ndkl(rankedGroups: ArrayLike<number>, k: number, target: Float64Array): number {
  const walk = new NdklWalk(target);
  const end = Math.min(k, rankedGroups.length);
  for (let i = 0; i < end; i++) walk.add(rankedGroups[i]);
  return walk.at(k);
}

/** Group counts within the first k of a ranking given as group codes. */
export function topKCounts(rankedGroups: ArrayLike<number>, k: number, groups: number): Float64Array {
  const counts = new Float64Array(groups);
  const end = Math.min(k, rankedGroups.length);
  for (let i = 0; i < end; i++) counts[rankedGroups[i]]++;
  return counts;
}

/**
 * Row indices sorted by descending score; ties keep input order (the reference's pandas
 * `nlargest` keeps ties beyond k, which makes k fuzzy; a stable order keeps exactly k).
 * Non-finite scores rank last.
 */
export function rankByScore(scores: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i);
  const key = (i: number): number => (Number.isFinite(scores[i]) ? scores[i] : Number.NEGATIVE_INFINITY);
  return order.sort((a, b) => key(b) - key(a) || a - b);
}

/**
 * The first `m` rows of rankByScore's order, in that order, without sorting every row: a bounded
 * heap keeps the m best (score descending, ties by input order), O(n log m).
 */
export function topByScore(scores: ArrayLike<number>, m: number): Int32Array {
  const n = scores.length;
  if (m >= n) return rankByScore(scores);
  const key = (i: number): number => (Number.isFinite(scores[i]) ? scores[i] : Number.NEGATIVE_INFINITY);
  // worse(a, b): a ranks after b.
  const worse = (a: number, b: number): boolean => key(a) < key(b) || (key(a) === key(b) && a > b);
  const heap = new Int32Array(m); // a min-heap on rank: heap[0] is the worst kept row
  let size = 0;
  const siftUp = (j: number) => {
    while (j > 0) {
      const parent = (j - 1) >> 1;
      if (!worse(heap[j], heap[parent])) break;
      const t = heap[j];
      heap[j] = heap[parent];
      heap[parent] = t;
      j = parent;
    }
  };
  const siftDown = (j: number) => {
    for (;;) {
      const l = 2 * j + 1;
      const r = l + 1;
      let w = j;
      if (l < size && worse(heap[l], heap[w])) w = l;
      if (r < size && worse(heap[r], heap[w])) w = r;
      if (w === j) return;
      const t = heap[j];
      heap[j] = heap[w];
      heap[w] = t;
      j = w;
    }
  };
  for (let i = 0; i < n; i++) {
    if (size < m) {
      heap[size++] = i;
      siftUp(size - 1);
    } else if (worse(heap[0], i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => key(b) - key(a) || a - b);
}
