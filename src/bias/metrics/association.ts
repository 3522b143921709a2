import { SeededRandom } from '../../core/random.js';
import { meanAndSampleStd } from './stats.js';
import { cosineSimilarity } from '../../core/vectors.js';

/**
 * Embedding association test in the WEAT form (Caliskan et al. 2017) as applied to images by iEAT
 * (Steed & Caliskan 2021): target sets X, Y (image embeddings of two groups) and attribute sets
 * A, B (text embeddings of two concept prompt sets).
 *   s(w, A, B) = mean_a cos(w, a) − mean_b cos(w, b)
 *   effect size d = (mean_{x∈X} s(x) − mean_{y∈Y} s(y)) / std_{w∈X∪Y} s(w)   (sample std, n − 1)
 *   p-value: one-sided permutation test of Σ_X s − Σ_Y s over random re-partitions of X ∪ Y into
 *   sets of the original sizes, p = (#{perm ≥ observed} + 1) / (n_permutations + 1).
 * A positive d means X is closer to A (and Y to B) than the other way round.
 */

/** s(w, A, B) for every target embedding w. */
export function associationScores(
  targets: readonly ArrayLike<number>[],
  attributeA: readonly ArrayLike<number>[],
  attributeB: readonly ArrayLike<number>[],
): Float64Array {
  return Float64Array.from(targets, (w) => {
    let a = 0;
    for (const e of attributeA) a += cosineSimilarity(w, e);
    let b = 0;
    for (const e of attributeB) b += cosineSimilarity(w, e);
    return a / attributeA.length - b / attributeB.length;
  });
}

/** Effect size from precomputed s(w) of X (first nX entries) and Y (the rest). */
export function effectSizeFromScores(scores: ArrayLike<number>, nX: number): number {
  let sumX = 0;
  for (let i = 0; i < nX; i++) sumX += scores[i];
  let sumY = 0;
  for (let i = nX; i < scores.length; i++) sumY += scores[i];
  const { std } = meanAndSampleStd(scores);
  return (sumX / nX - sumY / (scores.length - nX)) / std;
}

export interface AssociationTest {
  effect_size: number;
  /** Σ_X s − Σ_Y s, the permutation test statistic. */
  statistic: number;
  p_value: number;
  n_permutations: number;
}

/** Effect size and seeded permutation p-value from s(w) of X (first nX) then Y. */
export function associationTest(scores: Float64Array, nX: number, nPermutations: number, seed: number): AssociationTest {
  const n = scores.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += scores[i];
  let sumX = 0;
  for (let i = 0; i < nX; i++) sumX += scores[i];
  // Σ_X s − Σ_Y s = 2 Σ_X s − total, so each permutation only needs the sum over a random X.
  const statistic = 2 * sumX - total;
  const rng = new SeededRandom(seed);
  const pool = Float64Array.from(scores);
  let atLeast = 0;
  const tolerance = 1e-12 * Math.max(1, Math.abs(statistic));
  for (let p = 0; p < nPermutations; p++) {
    // Partial Fisher-Yates: the first nX slots become a uniform random subset.
    let sum = 0;
    for (let i = 0; i < nX; i++) {
      const j = i + rng.int(n - i);
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
      sum += pool[i];
    }
    if (2 * sum - total >= statistic - tolerance) atLeast++;
  }
  return {
    effect_size: effectSizeFromScores(scores, nX),
    statistic,
    p_value: (atLeast + 1) / (nPermutations + 1),
    n_permutations: nPermutations,
  };
}
