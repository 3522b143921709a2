/**
 * Bias metrics at scale: 100k observations × 10 groups, n_boot = 1000, stratified bootstrap of
 * per-group selection rate, accuracy, TPR, FPR (and the disparities built from them).
 * References measured in the same run:
 * - numpy (/usr/bin/python3): the same stratified bootstrap, per-row (rng.integers per stratum and
 *   replicate), and with vigil's algorithm (multinomial cell counts, all replicates at once);
 * - naive JS: per replicate, materialise the resampled rows and re-group them with a Map
 *   (what a straightforward implementation does); timed on 50 replicates, scaled to 1000.
 * Memory: RSS growth while vigil runs at 100k and 200k rows (replicates are O(n_boot × metrics)).
 *
 * Million-row probe sets (VIGIL_BENCH_BIG_ROWS, default 6,000,000; 0 skips): a predictions CSV of
 * that many rows × 10 groups (label, prediction, score) is generated in a temp folder, and
 * `vigil bias --predictions ... --score s --k 10,100,1000 --n-boot 1000` runs end to end in a child
 * process (wall time and peak RSS from /usr/bin/time). Reference in the same run: the per-row
 * bootstrap (every row resampled in every replicate, as Fairlearn's bootstrap and vigil's own
 * `resampling: 'rows'` do) on the same rows, timed on a few replicates and scaled to 1000.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disaggregate, type ObservationTable } from '../src/bias/metrics/disaggregate.js';
import { attributeFeature } from '../src/bias/metrics/features.js';
import { SeededRandom } from '../src/core/random.js';

const N = 100_000;
const GROUPS = 10;
const N_BOOT = 1000;

function data(n: number) {
  const rng = new SeededRandom(1);
  const group = Int32Array.from({ length: n }, () => rng.int(GROUPS));
  const truth = Int32Array.from({ length: n }, () => rng.int(2));
  const prediction = Int32Array.from(truth, (t, i) => (rng.next() < 0.75 + group[i] * 0.02 ? t : 1 - t));
  const score = Float64Array.from({ length: n }, (_, i) => rng.next() + group[i] * 0.01);
  return { group, truth, prediction, score };
}

function table(d: ReturnType<typeof data>, withRanking: boolean, withScoreMean = false): ObservationTable {
  return {
    n: d.group.length,
    features: [attributeFeature('group', Array.from(d.group, (g) => `g${g}`))],
    classes: ['0', '1'],
    truth: d.truth,
    prediction: d.prediction,
    positive: [1],
    values: withScoreMean ? [{ name: 'score', data: d.score }] : [],
    rankings: withRanking ? [{ name: 'score', scores: d.score }] : [],
  };
}

function time<T>(fn: () => T): { ms: number; result: T } {
  const start = performance.now();
  const result = fn();
  return { ms: performance.now() - start, result };
}

/** Per replicate: materialise resampled rows, group with a Map, compute the four rates per group. */
function naive(d: ReturnType<typeof data>, replicates: number): number {
  const rng = new SeededRandom(3);
  const byGroup = new Map<number, number[]>();
  d.group.forEach((g, i) => {
    if (!byGroup.has(g)) byGroup.set(g, []);
    byGroup.get(g)?.push(i);
  });
  let checksum = 0;
  for (let b = 0; b < replicates; b++) {
    const sample: { g: number; t: number; p: number }[] = [];
    for (const rows of byGroup.values()) for (let j = 0; j < rows.length; j++) {
      const r = rows[rng.int(rows.length)];
      sample.push({ g: d.group[r], t: d.truth[r], p: d.prediction[r] });
    }
    const groups = new Map<number, { g: number; t: number; p: number }[]>();
    for (const s of sample) {
      if (!groups.has(s.g)) groups.set(s.g, []);
      groups.get(s.g)?.push(s);
    }
    for (const rows of groups.values()) {
      const sel = rows.filter((r) => r.p === 1).length / rows.length;
      const acc = rows.filter((r) => r.p === r.t).length / rows.length;
      const pos = rows.filter((r) => r.t === 1);
      const neg = rows.filter((r) => r.t === 0);
      checksum += sel + acc + pos.filter((r) => r.p === 1).length / pos.length + neg.filter((r) => r.p === 1).length / neg.length;
    }
  }
  return checksum;
}

const NUMPY = `
import sys, time, numpy as np
n, groups, n_boot = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
raw = np.fromfile(sys.argv[1], dtype=np.int32).reshape(3, n)
g, t, p = raw
rng = np.random.default_rng(0)
strata = [np.flatnonzero(g == k) for k in range(groups)]
start = time.perf_counter()
out = np.empty((n_boot, groups, 4))
for b in range(n_boot):
    for k, rows in enumerate(strata):
        idx = rows[rng.integers(0, rows.size, rows.size)]
        tt, pp = t[idx], p[idx]
        pos = tt == 1
        out[b, k] = (pp.mean(), (pp == tt).mean(), pp[pos].mean(), pp[~pos].mean())
sel = out[:, :, 0]
dp = sel.max(axis=1) - sel.min(axis=1)
lo, hi = np.percentile(out, [2.5, 97.5], axis=0)
per_row_ms = (time.perf_counter() - start) * 1000
# Same algorithm as vigil's count-only path: each stratum's resample as multinomial cell counts,
# all replicates at once.
start = time.perf_counter()
cell = t * 2 + p
out = np.empty((n_boot, groups, 4))
for k, rows in enumerate(strata):
    shares = np.bincount(cell[rows], minlength=4) / rows.size
    c = rng.multinomial(rows.size, shares, size=n_boot).astype(float)
    out[:, k] = np.stack([(c[:, 1] + c[:, 3]) / rows.size, (c[:, 0] + c[:, 3]) / rows.size,
                          c[:, 3] / (c[:, 2] + c[:, 3]), c[:, 1] / (c[:, 0] + c[:, 1])], axis=1)
sel = out[:, :, 0]
dp = sel.max(axis=1) - sel.min(axis=1)
lo, hi = np.percentile(out, [2.5, 97.5], axis=0)
print(f"{per_row_ms:.1f} {(time.perf_counter() - start) * 1000:.1f}")
`;

function numpy(d: ReturnType<typeof data>): [number, number] | null {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-bias-'));
  try {
    const packed = new Int32Array(3 * N);
    packed.set(d.group, 0);
    packed.set(d.truth, N);
    packed.set(d.prediction, 2 * N);
    writeFileSync(join(dir, 'data.bin'), packed);
    writeFileSync(join(dir, 'boot.py'), NUMPY);
    const out = execFileSync('/usr/bin/python3', [join(dir, 'boot.py'), join(dir, 'data.bin'), String(N), String(GROUPS), String(N_BOOT)], {
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
      encoding: 'utf8',
    });
    const [perRow, multinomial] = out.trim().split(' ').map(Number);
    return [perRow, multinomial];
  } catch (error) {
    console.log(`numpy reference unavailable: ${(error as Error).message.split('\n')[0]}`);
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const BIG_ROWS = Number(process.env.VIGIL_BENCH_BIG_ROWS ?? 6_000_000);

/** The big predictions CSV: group, label, prediction (accuracy varies by group), score. */
function writeBigCsv(path: string, n: number): ReturnType<typeof data> {
  const d = data(n);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, 'group,y,yhat,s\n');
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      lines.push(`g${d.group[i]},${d.truth[i]},${d.prediction[i]},${d.score[i].toFixed(6)}`);
      if (lines.length === 100_000) {
        writeSync(fd, `${lines.join('\n')}\n`);
        lines.length = 0;
      }
    }
    if (lines.length > 0) writeSync(fd, `${lines.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
  return d;
}

async function runBig(): Promise<void> {
  if (!(BIG_ROWS > 0)) return;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-bias-big-'));
  try {
    const csv = join(dir, 'predictions.csv');
    const d = writeBigCsv(csv, BIG_ROWS);
    const root = fileURLToPath(new URL('..', import.meta.url));
    const args = ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'bias', '--predictions', csv, '--sensitive', 'group', '--label', 'y', '--pred', 'yhat', '--score', 's', '--k', '10,100,1000', '--n-boot', String(N_BOOT), '--json'];
    const timed = existsSync('/usr/bin/time');
    const started = performance.now();
    let rssKiB = Number.NaN;
    try {
      if (timed) execFileSync('/usr/bin/time', ['-f', 'VIGIL_RSS_KB %M', process.execPath, ...args], { cwd: root, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
      else execFileSync(process.execPath, args, { cwd: root, maxBuffer: 1 << 28 });
    } catch (error) {
      // Exit 4 (not judged: no thresholds) is the expected status; anything else is a failure.
      const e = error as { status?: number; stderr?: Buffer };
      if (e.status !== 4) throw error;
      const match = /VIGIL_RSS_KB (\d+)/.exec(e.stderr?.toString() ?? '');
      if (match) rssKiB = Number(match[1]);
    }
    const wallMs = performance.now() - started;
    // Reference: the per-row bootstrap on the same rows (in this process, table built directly).
    const referenceReplicates = 3;
    const t = table(d, true, true);
    // Per replicate: the difference between 2r and r replicates (fixed costs cancel).
    const options = { seed: 0, minGroupSize: 30, nPermutations: 0, ks: [10, 100, 1000], resampling: 'rows' as const };
    const few = time(() => disaggregate(t, { ...options, nBoot: referenceReplicates }));
    const more = time(() => disaggregate(t, { ...options, nBoot: 2 * referenceReplicates }));
    const perReplicate = Math.max(0, more.ms - few.ms) / referenceReplicates;
    const referenceMs = few.ms + perReplicate * (N_BOOT - referenceReplicates);
    console.log(`\n${BIG_ROWS} rows × ${GROUPS} groups, label + prediction + score, k = 10,100,1000, n_boot = ${N_BOOT}`);
    console.log('implementation'.padEnd(60), 's'.padStart(10), 'ratio to vigil'.padStart(16), 'peak RSS'.padStart(12));
    console.log('vigil bias --predictions, end to end (read, bootstrap, BCa, tests)'.padEnd(60), (wallMs / 1000).toFixed(1).padStart(10), '1.00'.padStart(16), `${Number.isNaN(rssKiB) ? '?' : (rssKiB / 2 ** 20).toFixed(2)} GiB`.padStart(12));
    console.log(`per-row bootstrap reference (${referenceReplicates} reps, scaled to ${N_BOOT}; no I/O)`.padEnd(60), (referenceMs / 1000).toFixed(1).padStart(10), (referenceMs / wallMs).toFixed(1).padStart(16), ''.padStart(12));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  await runBig();
  const d = data(N);
  const options = { seed: 0, nBoot: N_BOOT, minGroupSize: 30, nPermutations: 0 };
  const vigil = time(() => disaggregate(table(d, false), options));
  const vigilRanked = time(() => disaggregate(table(d, true), { ...options, ks: [10, 100, 1000] }));
  const vigilPerRow = time(() => disaggregate(table(d, true, true), { ...options, ks: [10, 100, 1000] }));
  const np = numpy(d);
  const naiveReplicates = 50;
  const naiveRun = time(() => naive(d, naiveReplicates));
  const naiveMs = (naiveRun.ms * N_BOOT) / naiveReplicates;

  const rows: [string, number, string][] = [
    ['vigil disaggregate (rates, disparities, CIs)', vigil.ms, '1.00'],
    ['vigil + MaxSkew/MinSkew/NDKL @10,100,1000 (2 targets)', vigilRanked.ms, (vigilRanked.ms / vigil.ms).toFixed(2)],
  ];
  rows.push(['vigil + skew + mean_score (per-row resampling path)', vigilPerRow.ms, (vigilPerRow.ms / vigil.ms).toFixed(2)]);
  if (np !== null) {
    rows.push(['numpy, per-row resampling (same rates)', np[0], (np[0] / vigil.ms).toFixed(2)]);
    rows.push(['numpy, multinomial counts (same algorithm as vigil)', np[1], (np[1] / vigil.ms).toFixed(2)]);
  }
  rows.push([`naive JS re-grouping (${naiveReplicates} reps ×${N_BOOT / naiveReplicates})`, naiveMs, (naiveMs / vigil.ms).toFixed(2)]);
  console.log(`${N} rows × ${GROUPS} groups, n_boot = ${N_BOOT} (single thread)`);
  console.log('implementation'.padEnd(60), 'ms'.padStart(10), 'ratio to vigil'.padStart(16));
  for (const [name, ms, ratio] of rows) console.log(name.padEnd(60), ms.toFixed(0).padStart(10), ratio.padStart(16));

  // Memory: the bootstrap keeps O(rows) codes plus O(n_boot × metrics) replicates.
  for (const n of [N, 2 * N]) {
    const big = data(n);
    global.gc?.();
    const before = process.memoryUsage();
    const t = table(big, true);
    let peak = before.rss;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    disaggregate(t, { ...options, ks: [10, 100], onReplicate: () => (peak = Math.max(peak, process.memoryUsage().rss)) });
    clearInterval(timer);
    console.log(`memory at ${n} rows: peak RSS growth ${((peak - before.rss) / 2 ** 20).toFixed(1)} MiB (heap before ${(before.heapUsed / 2 ** 20).toFixed(0)} MiB)`);
  }
}
