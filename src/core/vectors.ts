/**
 * cos(u, v) of two embeddings, which need not be normalised. A zero vector has no direction, so its
 * similarity is NaN, which compares false against every threshold.
 */
export function cosineSimilarity(u: ArrayLike<number>, v: ArrayLike<number>): number {
  let dot = 0;
  let nu = 0;
  let nv = 0;
  for (let i = 0; i < u.length; i++) {
    dot += u[i] * v[i];
    nu += u[i] * u[i];
    nv += v[i] * v[i];
  }
  return dot / Math.sqrt(nu * nv);
}
