/**
 * Derived attributes: numeric ages binned into groups. Intersections of attributes are features
 * of the metrics (src/bias/metrics/features.ts), not derived columns.
 */
import { invalidArgument } from '../core/errors.js';

/** FairFace's age groups as lower edges: 0-2, 3-9, 10-19, ..., 60-69, 70+. */
export const FAIRFACE_AGE_EDGES = [0, 3, 10, 20, 30, 40, 50, 60, 70];

export interface AgeBinning {
  /** Name of the derived attribute, e.g. `age_group`. */
  name: string;
  /** Numeric source column, e.g. `age`. */
  from: string;
  /** Increasing lower edges; bin i is [edges[i], edges[i+1]), the last is open ("70+"). */
  edges: number[];
}

export function validateEdges(edges: readonly number[], parameter: string): void {
  if (edges.length < 1 || edges.some((e, i) => !Number.isFinite(e) || (i > 0 && e <= edges[i - 1]))) {
    throw invalidArgument(parameter, 'a non-empty list of increasing numbers', edges.join(', '));
  }
}

/** Bin labels: "0-2", "3-9", ..., "70+" for integer edges. */
export function binLabels(edges: readonly number[]): string[] {
  return edges.map((edge, i) => (i === edges.length - 1 ? `${edge}+` : Number.isInteger(edges[i + 1]) && Number.isInteger(edge) ? `${edge}-${edges[i + 1] - 1}` : `${edge}-<${edges[i + 1]}`));
}

/** The bin label of a value, or null when it is not a number or lies below the first edge. */
export function binOf(value: string, edges: readonly number[], labels: readonly string[]): string | null {
  if (value.trim() === '') return null;
  const x = Number(value);
  if (!Number.isFinite(x) || x < edges[0]) return null;
  let i = edges.length - 1;
  while (x < edges[i]) i--;
  return labels[i];
}
