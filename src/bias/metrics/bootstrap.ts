/**
 * The stratified bootstrap's resampling, on sufficient statistics: per stratum (the cross of all
 * sensitive features, so every group keeps its size) the cell counts of (truth, prediction), the
 * sums of numeric columns and the strata of the top of each ranking. Row-by-row resampling (exact,
 * O(rows) per replicate), multinomial draws (O(cells + max k) per replicate), and the
 * delete-a-block jackknife behind the BCa acceleration. The metrics computed from these live in
 * disaggregate.ts, the tests in hypothesis.ts.
 */
import type { SeededRandom } from '../../core/random.js';
import type { ObservationTable } from './disaggregate.js';
import { rankByScore, topByScore } from './skew.js';
import { binomialDraw } from './stats.js';

/** Rows × replicates up to which numeric columns are resampled row by row. */
export const ROW_RESAMPLING_LIMIT = 5e7;

/** Sufficient statistics of one (re)sample, per stratum. */
export interface Aggregates {
  cells: Float64Array;
  sums: Float64Array;
  /** Per ranking: stratum code of each of the top max-k items. */
  tops: Int32Array[];
}

/** Rows of each stratum (counting sort). */
export function rowsByStratum(codes: Int32Array, count: number): Int32Array[] {
  const sizes = new Int32Array(count);
  for (const code of codes) sizes[code]++;
  const rows = Array.from(sizes, (size) => new Int32Array(size));
  const fill = new Int32Array(count);
  codes.forEach((code, i) => (rows[code][fill[code]++] = i));
  return rows;
}

/**
 * A ranking by descending score, computed only as deep as walks need: the top few times max k
 * first (a bounded heap), the full sort only if a walk (a resample that skips many rows) goes past.
 */
export class RankingOrder {
  order: Int32Array;
  constructor(
    private readonly scores: Float64Array,
    depth: number,
  ) {
    this.order = topByScore(scores, Math.min(depth, scores.length));
  }

  /** Visits rows best first while `visit` returns true. */
  walk(visit: (row: number) => boolean): void {
    for (let i = 0; ; i++) {
      if (i >= this.order.length) {
        if (this.order.length === this.scores.length) return;
        this.order = rankByScore(this.scores);
      }
      if (!visit(this.order[i])) return;
    }
  }
}

/** The stratum codes of the first `maxK` items of a ranking, each row repeated `weight` times. */
export function topStrata(order: RankingOrder, weights: Int32Array | null, strata: Int32Array, maxK: number, skip?: (row: number) => boolean): Int32Array {
  const top = new Int32Array(maxK);
  let filled = 0;
  if (maxK === 0) return top;
  order.walk((row) => {
    if (skip?.(row)) return true;
    const times = weights ? weights[row] : 1;
    for (let t = 0; t < times && filled < maxK; t++) top[filled++] = strata[row];
    return filled < maxK;
  });
  return top.subarray(0, filled);
}

/** Aggregates of one (re)sample of a table, in the strata of the cross of its features. */
export class Resampler {
  /** The point estimate's aggregates (every row once). */
  readonly point: Aggregates;
  /** Row-by-row resample (or, with no rng, every row once); `weights` collects each row's multiplicity. */
  readonly rows: (weights: Int32Array | null, rng: SeededRandom | null) => Aggregates;
  /** A multinomial resample drawn over sufficient statistics. */
  readonly multinomial: (rng: SeededRandom) => Aggregates;

  constructor(
    private readonly table: ObservationTable,
    private readonly strata: { codes: Int32Array; count: number },
    private readonly stratumRows: Int32Array[],
    private readonly cellCount: number,
    private readonly cellOf: Int32Array,
    private readonly orders: RankingOrder[],
    private readonly maxK: number,
  ) {
    const nValues = table.values.length;
    const rowAggregate = (weights: Int32Array | null, rng: SeededRandom | null): Aggregates => {
      const cells = new Float64Array(strata.count * cellCount);
      const sums = new Float64Array(strata.count * nValues);
      const columns = table.values.map((v) => v.data);
      stratumRows.forEach((rows, s) => {
        const m = rows.length;
        const cellBase = s * cellCount;
        const sumBase = s * nValues;
        for (let j = 0; j < m; j++) {
          const row = rng ? rows[rng.int(m)] : rows[j];
          cells[cellBase + cellOf[row]]++;
          for (let v = 0; v < nValues; v++) sums[sumBase + v] += columns[v][row];
          if (weights) weights[row]++;
        }
      });
      return { cells, sums, tops: orders.map((order) => topStrata(order, weights, strata.codes, maxK)) };
    };
    const point = rowAggregate(null, null);
    // Without numeric columns, a stratum's statistics are its cell counts (plus which rows reach
    // the top of each ranking), and resampling its m rows with replacement is a multinomial draw of m
    // over its rows. It is drawn as conditional binomials: first the multiplicity of each row met
    // while walking a ranking down to max k (Binomial(draws left, 1 / rows left) in its stratum),
    // then the remaining draws over the cells of the rows not met. One random number per row met and
    // per cell, instead of one per row.
    const strataSizes = stratumRows.map((rows) => rows.length);
    const knownWeight = new Int32Array(table.n).fill(-1);
    // Numeric columns under the multinomial draw: each (stratum, cell) keeps the count, shifted sum
    // and shifted sum of squares of its values. Rows met on a ranking walk enter with their exact
    // weight; the other draws of a cell are drawn row by row when fewer than EXACT_DRAWS, otherwise
    // their sum is drawn from its normal approximation (CLT) with the exact mean and variance of the
    // cell's remaining rows. So no replicate touches every row.
    const keyCount = strata.count * cellCount;
    const columns = table.values.map((v) => v.data);
    const shift = new Float64Array(keyCount * nValues);
    const s1 = new Float64Array(keyCount * nValues);
    const s2 = new Float64Array(keyCount * nValues);
    const cellStart = new Int32Array(keyCount + 1);
    const cellRows = new Int32Array(nValues > 0 ? table.n : 0);
    if (nValues > 0) {
      const keyOf = (row: number) => strata.codes[row] * cellCount + cellOf[row];
      for (let row = 0; row < table.n; row++) {
        const key = keyOf(row);
        cellStart[key + 1]++;
        for (let v = 0; v < nValues; v++) shift[key * nValues + v] += columns[v][row];
      }
      for (let key = 0; key < keyCount; key++) {
        const count = cellStart[key + 1];
        for (let v = 0; v < nValues; v++) shift[key * nValues + v] = count > 0 ? shift[key * nValues + v] / count : 0;
        cellStart[key + 1] += cellStart[key];
      }
      const fill = Int32Array.from(cellStart.subarray(0, keyCount));
      for (let row = 0; row < table.n; row++) {
        const key = keyOf(row);
        cellRows[fill[key]++] = row;
        for (let v = 0; v < nValues; v++) {
          const d = columns[v][row] - shift[key * nValues + v];
          s1[key * nValues + v] += d;
          s2[key * nValues + v] += d * d;
        }
      }
    }
    const EXACT_DRAWS = 100;
    const multinomialAggregate = (rng: SeededRandom): Aggregates => {
      const cells = new Float64Array(strata.count * cellCount);
      const sums = new Float64Array(strata.count * nValues);
      const metS1 = new Float64Array(keyCount * nValues);
      const metS2 = new Float64Array(keyCount * nValues);
      const drawsLeft = Float64Array.from(strataSizes);
      const rowsLeft = Float64Array.from(strataSizes);
      const metCells = new Float64Array(strata.count * cellCount);
      const met: number[] = [];
      const tops = orders.map((order) => {
        const top = new Int32Array(maxK);
        let filled = 0;
        if (maxK === 0) return top;
        order.walk((row) => {
          const s = strata.codes[row];
          let weight = knownWeight[row];
          if (weight < 0) {
            weight = binomialDraw(rng.next(), drawsLeft[s], 1 / rowsLeft[s]);
            drawsLeft[s] -= weight;
            rowsLeft[s] -= 1;
            knownWeight[row] = weight;
            met.push(row);
            const key = s * cellCount + cellOf[row];
            metCells[key]++;
            cells[key] += weight;
            for (let v = 0; v < nValues; v++) {
              const x = columns[v][row];
              const d = x - shift[key * nValues + v];
              sums[s * nValues + v] += weight * x;
              metS1[key * nValues + v] += d;
              metS2[key * nValues + v] += d * d;
            }
          }
          for (let t = 0; t < weight && filled < maxK; t++) top[filled++] = s;
          return filled < maxK;
        });
        return top.subarray(0, filled);
      });
      for (let s = 0; s < strata.count; s++) {
        const base = s * cellCount;
        let remaining = drawsLeft[s];
        let countLeft = rowsLeft[s];
        for (let c = 0; c < cellCount && remaining > 0; c++) {
          const count = point.cells[base + c] - metCells[base + c];
          if (count === 0) continue;
          const drawn = count === countLeft ? remaining : binomialDraw(rng.next(), remaining, count / countLeft);
          cells[base + c] += drawn;
          remaining -= drawn;
          countLeft -= count;
          if (nValues === 0 || drawn === 0) continue;
          const key = base + c;
          if (drawn < EXACT_DRAWS) {
            const from = cellStart[key];
            const size = cellStart[key + 1] - from;
            for (let t = 0; t < drawn; t++) {
              let row: number;
              do row = cellRows[from + rng.int(size)];
              while (knownWeight[row] >= 0);
              for (let v = 0; v < nValues; v++) sums[s * nValues + v] += columns[v][row];
            }
          } else {
            for (let v = 0; v < nValues; v++) {
              const i = key * nValues + v;
              const mean = (s1[i] - metS1[i]) / count;
              const variance = Math.max(0, (s2[i] - metS2[i]) / count - mean * mean);
              sums[s * nValues + v] += drawn * (shift[i] + mean) + Math.sqrt(drawn * variance) * rng.normal();
            }
          }
        }
      }
      for (const row of met) knownWeight[row] = -1;
      return { cells, sums, tops };
    };
    this.point = point;
    this.rows = rowAggregate;
    this.multinomial = multinomialAggregate;
  }

  /** Rows dealt round-robin into `count` jackknife blocks within each stratum. */
  blocks(count: number): Uint8Array {
    const blockOf = new Uint8Array(this.table.n);
    for (const rows of this.stratumRows) rows.forEach((row, j) => (blockOf[row] = j % count));
    return blockOf;
  }

  /** The point aggregates with block `j`'s rows taken out. */
  withoutBlock(blockOf: Uint8Array, j: number): Aggregates {
    const { table, strata, cellCount, cellOf } = this;
    const nValues = table.values.length;
    const columns = table.values.map((v) => v.data);
    const cells = Float64Array.from(this.point.cells);
    const sums = Float64Array.from(this.point.sums);
    for (let row = 0; row < table.n; row++) {
      if (blockOf[row] !== j) continue;
      const s = strata.codes[row];
      cells[s * cellCount + cellOf[row]]--;
      for (let v = 0; v < nValues; v++) sums[s * nValues + v] -= columns[v][row];
    }
    const tops = this.orders.map((order) => topStrata(order, null, strata.codes, this.maxK, (row) => blockOf[row] === j));
    return { cells, sums, tops };
  }
}
