/**
 * `npm run fuzz -- [--iterations N] [--seed S] [--targets verify,probes,screen] [--timeout-ms T] [--out dir] [--json]`
 *
 * Seeded mutation fuzzing of vigil's input parsers: fixture images and C2PA conformance files
 * through screening and provenance verification, probe-set CSVs through the probe loader. Every
 * input must end in a result or a named error (VigilInputError); anything else thrown is a crash,
 * and an input not answered within the timeout is a hang. The same seed replays the same inputs.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VigilInputError, errorMessage, invalidArgument } from '../src/core/errors.js';
import { writeFileAtomic } from '../src/core/files.js';
import { createProgress } from '../src/core/progress.js';
import { SeededRandom } from '../src/core/random.js';
import { PACKAGE_ROOT } from '../src/core/version.js';

export type Outcome = 'ok' | 'named-error' | 'crash' | 'hang';

/** One kind of input and the vigil entry point it goes through. */
export interface FuzzTarget {
  name: string;
  /** Prepares seeds and engines once; returns the function that runs one mutated input. */
  setup(random: SeededRandom): Promise<(random: SeededRandom) => Promise<FuzzInput>>;
}

/** One generated input: its bytes (kept for the crash report) and how to feed it to vigil. */
export interface FuzzInput {
  description: string;
  bytes: Uint8Array;
  run(): Promise<unknown>;
}

export interface FuzzFinding {
  target: string;
  iteration: number;
  outcome: 'crash' | 'hang';
  description: string;
  error: string;
  /** Where the input was saved (with --out). */
  savedAs?: string;
}

export interface FuzzReport {
  seed: number;
  iterations: number;
  timeoutMs: number;
  /** Per target: inputs run and how each ended; `verdicts` counts the `state`/`verdict` of results. */
  targets: Record<string, Record<Outcome, number> & { inputs: number; verdicts: Record<string, number> }>;
  totals: Record<Outcome, number> & { inputs: number };
  /**
   * Named errors whose message is longer than MAX_MESSAGE_CHARS: not crashes, but an error that
   * echoes a hostile input (a 1 MB cell) back into logs and terminals. Per target, with one example.
   */
  oversizedMessages: Record<string, { count: number; example: string }>;
  /** Distinct named-error messages seen (first line, digits masked), most frequent first, top 15. */
  topNamedErrors: Array<{ message: string; count: number }>;
  findings: FuzzFinding[];
  elapsedSeconds: number;
}

export const CONFORMANCE_DIR = resolve(process.env.VIGIL_C2PA_CONFORMANCE ?? join(PACKAGE_ROOT, '..', 'shared', 'conformance', 'c2pa-rs'));

// ---------------------------------------------------------------- mutations

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe];
const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 65535, 65536];

/** Byte ranges holding the C2PA manifest store (JUMBF): JPEG APP11, PNG caBX, WebP C2PA chunks. */
export function jumbfRanges(bytes: Uint8Array): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view[0] === 0xff && view[1] === 0xd8) {
    let offset = 2;
    while (offset + 4 <= view.length && view[offset] === 0xff) {
      const marker = view[offset + 1];
      if (marker === 0xda || marker === 0xd9) break;
      const length = view.readUInt16BE(offset + 2);
      if (marker === 0xeb) ranges.push([offset + 4, Math.min(view.length, offset + 2 + length)]);
      offset += 2 + length;
    }
  } else if (view.subarray(1, 4).toString('latin1') === 'PNG') {
    let offset = 8;
    while (offset + 8 <= view.length) {
      const length = view.readUInt32BE(offset);
      if (view.subarray(offset + 4, offset + 8).toString('latin1') === 'caBX') ranges.push([offset + 8, Math.min(view.length, offset + 8 + length)]);
      offset += 12 + length;
    }
  } else if (view.subarray(0, 4).toString('latin1') === 'RIFF') {
    let offset = 12;
    while (offset + 8 <= view.length) {
      const length = view.readUInt32LE(offset + 4);
      if (view.subarray(offset, offset + 4).toString('latin1') === 'C2PA') ranges.push([offset + 8, Math.min(view.length, offset + 8 + length)]);
      offset += 8 + length + (length % 2);
    }
  }
  return ranges.filter(([start, end]) => end > start);
}

/** A few seeded structural or byte-level mutations, focused on `focus` ranges when given. */
export function mutateBytes(seed: Uint8Array, random: SeededRandom, focus: Array<[number, number]> = []): { bytes: Uint8Array; description: string } {
  const bytes = Buffer.from(seed);
  let data: Buffer = bytes;
  const steps: string[] = [];
  const pickOffset = (): number => {
    if (focus.length > 0 && random.next() < 0.85) {
      const [start, end] = focus[random.int(focus.length)];
      return Math.min(data.length - 1, start + random.int(end - start));
    }
    return random.int(Math.max(1, data.length));
  };
  const count = 1 + random.int(4);
  for (let i = 0; i < count && data.length > 0; i++) {
    const op = random.int(8);
    const at = pickOffset();
    switch (op) {
      case 0:
        data[at] ^= 1 << random.int(8);
        steps.push(`flip bit @${at}`);
        break;
      case 1:
        data[at] = INTERESTING_BYTES[random.int(INTERESTING_BYTES.length)];
        steps.push(`set byte @${at}`);
        break;
      case 2:
        if (at + 4 <= data.length) {
          data.writeUInt32BE(INTERESTING_U32[random.int(INTERESTING_U32.length)], at);
          steps.push(`set u32 @${at}`);
        }
        break;
      case 3: {
        const length = 1 + random.int(64);
        data = Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + length))]);
        steps.push(`delete ${length} @${at}`);
        break;
      }
      case 4: {
        const length = 1 + random.int(64);
        const from = random.int(data.length);
        data = Buffer.concat([data.subarray(0, at), data.subarray(from, from + length), data.subarray(at)]);
        steps.push(`duplicate ${length} from ${from} @${at}`);
        break;
      }
      case 5: {
        const keep = random.int(data.length);
        data = data.subarray(0, keep);
        steps.push(`truncate to ${keep}`);
        break;
      }
      case 6: {
        const junk = Buffer.from(Array.from({ length: 1 + random.int(32) }, () => random.int(256)));
        data = Buffer.concat([data.subarray(0, at), junk, data.subarray(at)]);
        steps.push(`insert ${junk.length} random @${at}`);
        break;
      }
      default: {
        const length = 1 + random.int(16);
        for (let k = 0; k < length && at + k < data.length; k++) data[at + k] = random.int(256);
        steps.push(`randomise ${length} @${at}`);
      }
    }
  }
  return { bytes: new Uint8Array(data), description: steps.join(', ') };
}

const CRC_TABLE = Array.from({ length: 256 }, (_v, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * Recomputes every PNG chunk CRC in place. Decoders reject a chunk with a bad CRC before parsing
 * it, so without this most PNG mutations would only ever test the CRC check.
 */
export function fixPngCrcs(bytes: Uint8Array): Uint8Array {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.subarray(1, 4).toString('latin1') !== 'PNG') return bytes;
  let offset = 8;
  while (offset + 12 <= view.length) {
    const length = view.readUInt32BE(offset);
    if (offset + 12 + length > view.length) break;
    view.writeUInt32BE(crc32(view.subarray(offset + 4, offset + 8 + length)), offset + 8 + length);
    offset += 12 + length;
  }
  return bytes;
}

/** Cells that have broken CSV readers and spreadsheet exports. */
export const HOSTILE_CELLS = [
  '../../../etc/passwd',
  '/etc/passwd',
  'C:\\Windows\\win.ini',
  'img\u0000.png',
  '=HYPERLINK("http://evil.example","click")',
  '+cmd|" /C calc"!A0',
  '-2+3',
  '@SUM(A1:A9)',
  '<script>alert(1)</script>',
  '"unterminated',
  'a\r\nb',
  '\uFEFFbom',
  '\u202Egnp.exe',
  '',
  ' ',
];

function mutateCsv(seedRows: string[][], random: SeededRandom): { text: string; description: string } {
  const rows = seedRows.map((row) => [...row]);
  const steps: string[] = [];
  const count = 1 + random.int(3);
  for (let i = 0; i < count; i++) {
    const op = random.int(7);
    const r = random.int(rows.length);
    const c = random.int(rows[r].length);
    if (op <= 2) {
      rows[r][c] = HOSTILE_CELLS[random.int(HOSTILE_CELLS.length)];
      steps.push(`hostile cell r${r}c${c}`);
    } else if (op === 3) {
      rows[r][c] = 'x'.repeat(1 << 20);
      steps.push(`1 MB cell r${r}c${c}`);
    } else if (op === 4) {
      rows.push([...rows[r]]);
      steps.push(`duplicate row ${r}`);
    } else if (op === 5) {
      rows[r].splice(c, 1);
      steps.push(`drop cell r${r}c${c}`);
    } else {
      rows[r].push('extra');
      steps.push(`extra cell r${r}`);
    }
  }
  const quote = (cell: string): string => (/[",\r\n]/.test(cell) && random.next() < 0.8 ? `"${cell.replace(/"/g, '""')}"` : cell);
  let text = rows.map((row) => row.map(quote).join(',')).join('\n');
  if (random.next() < 0.2) {
    const { bytes } = mutateBytes(Buffer.from(text), random);
    text = Buffer.from(bytes).toString('utf8');
    steps.push('byte mutations');
  }
  return { text, description: steps.join(', ') };
}

// ---------------------------------------------------------------- targets

async function listImages(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.(jpe?g|png|webp|gif|tiff?|avif)$/i.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Every third image of the screening fixtures and every conformance file: small, varied seeds. */
async function imageSeeds(): Promise<Array<{ name: string; bytes: Buffer }>> {
  const fixtures = (await listImages(join(PACKAGE_ROOT, 'fixtures'))).filter((_f, i) => i % 3 === 0).slice(0, 60);
  let conformance: string[] = [];
  try {
    conformance = await listImages(CONFORMANCE_DIR);
  } catch {
    // Without the conformance files the image targets fuzz the fixtures only.
  }
  return Promise.all([...fixtures, ...conformance].map(async (path) => ({ name: path, bytes: await readFile(path) })));
}

export const verifyTarget: FuzzTarget = {
  name: 'verify',
  async setup() {
    const { verifyBytes } = await import('../src/provenance/verify.js');
    const seeds = (await imageSeeds()).map((seed) => ({ ...seed, focus: jumbfRanges(seed.bytes) }));
    const withManifest = seeds.filter((seed) => seed.focus.length > 0);
    return (random) => {
      // Mostly C2PA files with flips inside their JUMBF; sometimes any image anywhere.
      const pool = withManifest.length > 0 && random.next() < 0.8 ? withManifest : seeds;
      const seed = pool[random.int(pool.length)];
      const { bytes, description } = mutateBytes(seed.bytes, random, seed.focus);
      return Promise.resolve({ description: `${seed.name}: ${description}`, bytes, run: () => verifyBytes(bytes, 'fuzz-input') });
    };
  },
};

export const screenTarget: FuzzTarget = {
  name: 'screen',
  async setup() {
    const { createScreener } = await import('../src/screen/screener.js');
    const screener = await createScreener({ cacheDir: false });
    const seeds = await imageSeeds();
    return (random) => {
      const seed = seeds[random.int(seeds.length)];
      const mutated = mutateBytes(seed.bytes, random);
      const fixCrcs = random.next() < 0.5;
      const bytes = fixCrcs ? fixPngCrcs(mutated.bytes) : mutated.bytes;
      const description = fixCrcs ? `${mutated.description}, PNG CRCs fixed` : mutated.description;
      return Promise.resolve({
        description: `${seed.name}: ${description}`,
        bytes,
        // The screener records a bad file in its result instead of throwing; that record is the
        // named error, and anything thrown out of screen() is a crash.
        run: async () => {
          const [result] = await screener.screen([{ name: 'fuzz-input', bytes }]);
          if (result.status === 'error') throw new VigilInputError(result.error ?? 'unnamed screening error');
          return result;
        },
      });
    };
  },
};

export const probesTarget: FuzzTarget = {
  name: 'probes',
  async setup(random) {
    const { loadProbeSet } = await import('../src/probes/index.js');
    const dir = await mkdtemp(join(tmpdir(), 'vigil-fuzz-probes-'));
    const images = (await listImages(join(PACKAGE_ROOT, 'fixtures'))).slice(0, 6);
    const names: string[] = [];
    for (const [i, path] of images.entries()) {
      const name = `img${i}${path.slice(path.lastIndexOf('.'))}`;
      await writeFile(join(dir, name), await readFile(path));
      names.push(name);
    }
    const seedRows = [['file', 'gender', 'age', 'label'], ...names.map((name, i) => [name, i % 2 ? 'female' : 'male', String(20 + 7 * i), random.int(2) ? 'cat' : 'dog'])];
    process.once('exit', () => {
      void rm(dir, { recursive: true, force: true });
    });
    let n = 0;
    return async (rnd) => {
      const { text, description } = mutateCsv(seedRows, rnd);
      const source = join(dir, `labels-${n++ % 4}.csv`);
      await writeFile(source, text);
      return {
        description,
        bytes: Buffer.from(text),
        run: () => loadProbeSet(source, { format: 'csv', quiet: true, checkImages: rnd.next() < 0.3 }),
      };
    };
  },
};

export const ALL_TARGETS: FuzzTarget[] = [screenTarget, verifyTarget, probesTarget];

// ---------------------------------------------------------------- runner

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | typeof HANG> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof HANG>((resolve) => {
    timer = setTimeout(() => resolve(HANG), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
const HANG = Symbol('hang');

export const MAX_MESSAGE_CHARS = 4096;

/** The state (verify) or verdict (screen) of a result, for the report's breakdown. */
function verdictOf(result: unknown): string | undefined {
  if (result === null || typeof result !== 'object') return undefined;
  const record = result as { state?: unknown; verdict?: unknown };
  const value = record.state ?? record.verdict;
  return typeof value === 'string' ? value : undefined;
}

function errorSignature(message: string): string {
  return message.split('\n')[0].replace(/\d+/g, 'N').slice(0, 160);
}

export async function runFuzz(options: {
  iterations: number;
  seed: number;
  targets?: FuzzTarget[];
  timeoutMs?: number;
  outDir?: string;
  quiet?: boolean;
}): Promise<FuzzReport> {
  const targets = options.targets ?? ALL_TARGETS;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = Date.now();
  const emptyCounts = (): Record<Outcome, number> & { inputs: number } => ({ inputs: 0, ok: 0, 'named-error': 0, crash: 0, hang: 0 });
  const report: FuzzReport = { seed: options.seed, iterations: options.iterations, timeoutMs, targets: {}, totals: emptyCounts(), topNamedErrors: [], oversizedMessages: {}, findings: [], elapsedSeconds: 0 };
  const named = new Map<string, number>();
  const setupRandom = new SeededRandom(options.seed);
  const generators = [];
  for (const target of targets) {
    generators.push({ target, next: await target.setup(setupRandom) });
    report.targets[target.name] = { ...emptyCounts(), verdicts: {} };
  }
  if (options.outDir) await mkdir(options.outDir, { recursive: true });
  const progress = createProgress('Fuzzing', { quiet: options.quiet, total: options.iterations });
  for (let iteration = 0; iteration < options.iterations; iteration++) {
    // Each input has its own stream, so one iteration can be replayed alone from (seed, iteration).
    const random = new SeededRandom((options.seed ^ Math.imul(iteration + 1, 0x9e3779b1)) | 0);
    const { target, next } = generators[iteration % generators.length];
    const counts = report.targets[target.name];
    const input = await next(random);
    // A native crash (signal) ends this process before any report: the input it died on stays here.
    if (options.outDir) await writeFile(join(options.outDir, 'in-progress.bin'), input.bytes);
    let outcome: Outcome;
    let error = '';
    try {
      const result = await withTimeout(input.run(), timeoutMs);
      outcome = result === HANG ? 'hang' : 'ok';
      if (result === HANG) error = `no answer within ${timeoutMs} ms`;
      else {
        const verdict = verdictOf(result);
        if (verdict !== undefined) counts.verdicts[verdict] = (counts.verdicts[verdict] ?? 0) + 1;
      }
    } catch (thrown) {
      if (thrown instanceof VigilInputError) {
        outcome = 'named-error';
        const signature = errorSignature(thrown.message);
        named.set(signature, (named.get(signature) ?? 0) + 1);
        if (thrown.message.length > MAX_MESSAGE_CHARS) {
          const entry = (report.oversizedMessages[target.name] ??= { count: 0, example: `${thrown.message.slice(0, 160)}… (${thrown.message.length} chars)` });
          entry.count++;
        }
      } else {
        outcome = 'crash';
        error = thrown instanceof Error ? `${thrown.name}: ${thrown.message}\n${thrown.stack?.split('\n').slice(1, 4).join('\n') ?? ''}` : String(thrown);
      }
    }
    counts.inputs++;
    counts[outcome]++;
    report.totals.inputs++;
    report.totals[outcome]++;
    if (outcome === 'crash' || outcome === 'hang') {
      const finding: FuzzFinding = { target: target.name, iteration, outcome, description: input.description, error };
      if (options.outDir) {
        finding.savedAs = join(options.outDir, `${target.name}-${options.seed}-${iteration}.bin`);
        await writeFile(finding.savedAs, input.bytes);
      }
      report.findings.push(finding);
    }
    progress.increment();
  }
  progress.stop();
  if (options.outDir) await rm(join(options.outDir, 'in-progress.bin'), { force: true });
  report.topNamedErrors = [...named.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([message, count]) => ({ message, count }));
  report.elapsedSeconds = (Date.now() - started) / 1000;
  return report;
}

function parseArguments(argv: string[]): { iterations: number; seed: number; targets: FuzzTarget[]; timeoutMs: number; outDir?: string; json: boolean; report?: string } {
  const values: Record<string, string> = {};
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg.startsWith('--') && i + 1 < argv.length) values[arg.slice(2)] = argv[++i];
    else throw invalidArgument('arguments', '--iterations N, --seed S, --targets a,b, --timeout-ms T, --out dir, --report file, --json', arg);
  }
  const integer = (name: string, fallback: number): number => {
    const value = values[name] === undefined ? fallback : Number(values[name]);
    if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(`--${name}`, 'a non-negative integer', values[name]);
    return value;
  };
  const byName = new Map(ALL_TARGETS.map((t) => [t.name, t]));
  const targets = (values.targets ?? ALL_TARGETS.map((t) => t.name).join(',')).split(',').map((name) => {
    const target = byName.get(name.trim());
    if (!target) throw invalidArgument('--targets', `a comma-separated list of ${[...byName.keys()].join(', ')}`, name);
    return target;
  });
  return { iterations: integer('iterations', 1000), seed: integer('seed', 1), targets, timeoutMs: integer('timeout-ms', 10_000), outDir: values.out, json, report: values.report };
}

async function main(): Promise<void> {
  try {
    const args = parseArguments(process.argv.slice(2));
    const report = await runFuzz({ ...args, quiet: args.json });
    if (args.report) await writeFileAtomic(args.report, `${JSON.stringify(report, null, 2)}\n`);
    if (args.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      console.log(`seed ${report.seed}, ${report.totals.inputs} inputs in ${report.elapsedSeconds.toFixed(1)} s`);
      console.log('target    inputs      ok  named-error  crash  hang');
      for (const [name, c] of Object.entries(report.targets)) {
        const verdicts = Object.entries(c.verdicts).map(([v, n]) => `${v} ${n}`).join(', ');
        console.log(`${name.padEnd(8)} ${String(c.inputs).padStart(7)} ${String(c.ok).padStart(7)} ${String(c['named-error']).padStart(12)} ${String(c.crash).padStart(6)} ${String(c.hang).padStart(5)}${verdicts ? `  (${verdicts})` : ''}`);
      }
      for (const [name, o] of Object.entries(report.oversizedMessages)) console.log(`\n${name}: ${o.count} named error(s) over ${MAX_MESSAGE_CHARS} chars, e.g. ${o.example}`);
      for (const f of report.findings.slice(0, 20)) console.log(`\n${f.outcome.toUpperCase()} ${f.target} #${f.iteration} (${f.description})\n${f.error}`);
    }
    process.exitCode = report.totals.crash + report.totals.hang > 0 ? 1 : 0;
  } catch (error) {
    process.stderr.write(`fuzz: ${errorMessage(error)}\n`);
    process.exitCode = 2;
  }
  // c2pa-wasm and sharp keep nothing pending, but a hung input may: do not wait for it.
  setImmediate(() => process.exit(process.exitCode ?? 0));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
