/**
 * Pure CLIP arithmetic shared by the zero-shot, classification, retrieval and association audits.
 * Image and text embeddings arrive L2-normalised from the vision stack (image embeddings from its
 * on-disk cache), so changing prompts or labels re-runs with no image inference.
 */

/** Prompts in label-major order: for each label, every template with {label} filled in. */
export function expandPrompts(labels: readonly string[], templates: readonly string[]): string[] {
  return labels.flatMap((label) => templates.map((template) => template.replaceAll('{label}', label)));
}

/** Prompt ensembling (Radford et al. 2021): the normalised mean of each label's template embeddings. */
export function ensemble(promptEmbeddings: readonly Float32Array[], labels: number, templates: number): Float32Array[] {
  return Array.from({ length: labels }, (_, l) => {
    const dim = promptEmbeddings[0].length;
    const mean = new Float32Array(dim);
    for (let t = 0; t < templates; t++) {
      const e = promptEmbeddings[l * templates + t];
      for (let d = 0; d < dim; d++) mean[d] += e[d];
    }
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += mean[d] * mean[d];
    norm = Math.sqrt(norm);
    for (let d = 0; d < dim; d++) mean[d] /= norm;
    return mean;
  });
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Index of the label with the highest cosine similarity (first on ties): CLIP's zero-shot prediction. */
export function zeroShotIndex(image: Float32Array, labelEmbeddings: readonly Float32Array[]): number {
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  labelEmbeddings.forEach((label, i) => {
    const score = dot(image, label);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best;
}
