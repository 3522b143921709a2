/**
 * Provenance throughput (best of interleaved rounds): verify files/s over the c2pa-rs conformance set and sign files/s, with
 * the wasm engine initialised once per process (vigil's design). References measured in the same run:
 * - init per file: a fresh copy of the c2pa-wasm module (imported under a new URL, so a new 9 MB
 *   WebAssembly instance) for every file, which is what a per-file subprocess or a naive
 *   "init, read, drop" wrapper pays;
 * - raw engine, init once: c2pa-rs's Reader / Builder alone, without vigil's format sniffing,
 *   summaries, trust-list reads, file I/O, read-back verification and index, to show what vigil's
 *   own work costs on top of c2pa-rs.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { SeededRandom } from '../src/core/random.js';
import { coseSign1, reserveSizeFor } from '../src/provenance/cose.js';
import { loadSigningCredentials } from '../src/provenance/credentials.js';
import { buildSignedAsset, initEngine, readAsset } from '../src/provenance/engine.js';
import { requireProvenanceFormat } from '../src/provenance/formats.js';
import { generateDevCredentials } from '../src/provenance/keygen.js';
import { signImage } from '../src/provenance/sign.js';
import { verifyBytes } from '../src/provenance/verify.js';

const CONFORMANCE = resolve(process.env.VIGIL_C2PA_CONFORMANCE ?? '../shared/conformance/c2pa-rs');
/** Variants alternate round by round and each keeps its fastest round: the machine is shared and noisy. */
const ROUNDS = 3;
const SIGN_COUNT = 12;

interface Row {
  name: string;
  files: number;
  seconds: number;
}

function table(title: string, rows: Row[], baseline: string): void {
  const base = rows.find((row) => row.name === baseline)!;
  const baseRate = base.files / base.seconds;
  console.log(`\n${title}`);
  console.log(`${'variant'.padEnd(46)}${'files'.padStart(7)}${'seconds'.padStart(10)}${'files/s'.padStart(10)}${'ratio'.padStart(10)}   (ratio: files/s relative to ${baseline})`);
  for (const row of rows) {
    const rate = row.files / row.seconds;
    console.log(`${row.name.padEnd(46)}${String(row.files).padStart(7)}${row.seconds.toFixed(2).padStart(10)}${rate.toFixed(1).padStart(10)}${`${(rate / baseRate).toFixed(2)}x`.padStart(10)}`);
  }
}

async function interleaved(variants: [string, () => Promise<number>][], rounds: number): Promise<Row[]> {
  const rows: Row[] = variants.map(([name]) => ({ name, files: 0, seconds: Infinity }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, [, pass]] of variants.entries()) {
      const start = performance.now();
      const files = await pass();
      const seconds = (performance.now() - start) / 1000;
      if (seconds < rows[i].seconds) rows[i] = { name: rows[i].name, files, seconds };
    }
  }
  return rows;
}

/** A fresh c2pa-wasm module instance: the same glue file under a new URL is a new ES module. */
async function freshEngine(copy: number) {
  const glue = createRequire(import.meta.url).resolve('@contentauth/c2pa-wasm');
  const module = (await import(`${pathToFileURL(glue).href}?instance=${copy}`)) as typeof import('@contentauth/c2pa-wasm');
  await module.default({ module_or_path: readFileSync(createRequire(import.meta.url).resolve('@contentauth/c2pa-wasm/c2pa.wasm')) });
  return module;
}

async function photo(seed: number): Promise<Buffer> {
  const random = new SeededRandom(seed);
  const coarse = Buffer.from(Array.from({ length: 8 * 6 * 3 }, () => random.int(256)));
  return sharp(coarse, { raw: { width: 8, height: 6, channels: 3 } }).resize(640, 480, { kernel: 'cubic' }).jpeg({ quality: 90 }).toBuffer();
}

export async function run(): Promise<void> {
  const names = readdirSync(CONFORMANCE).filter((name) => /\.(jpe?g|png|webp)$/i.test(name)).sort();
  const assets = names.map((name) => ({ name, bytes: readFileSync(join(CONFORMANCE, name)) }));
  console.log(`conformance set: ${assets.length} files from ${CONFORMANCE}; best of ${ROUNDS} interleaved rounds`);

  const initStart = performance.now();
  await initEngine();
  console.log(`engine init (once per process): ${(performance.now() - initStart).toFixed(0)} ms`);

  // One untimed pass so JIT warm-up and file caches do not favour whichever variant runs second.
  const vigilPass = async (): Promise<number> => {
    for (const asset of assets) await verifyBytes(asset.bytes, asset.name);
    return assets.length;
  };
  const rawPass = async (): Promise<number> => {
    for (const asset of assets) await readAsset(requireProvenanceFormat(asset.bytes, asset.name), asset.bytes).catch(() => undefined);
    return assets.length;
  };
  let copy = 0;
  const perFilePass = async (): Promise<number> => {
    for (const asset of assets) {
      const engine = await freshEngine(copy++);
      try {
        const reader = await engine.WasmReader.fromBytes(requireProvenanceFormat(asset.bytes, asset.name), asset.bytes);
        reader.json();
        reader.free();
      } catch {
        // no manifest: the cost is the same
      }
    }
    return assets.length;
  };
  await vigilPass();
  await rawPass();
  const verifyRows = await interleaved(
    [
      ['vigil verifyBytes (init once)', vigilPass],
      ['raw c2pa-rs Reader (init once)', rawPass],
      ['c2pa-rs Reader, init per file (reference)', perFilePass],
    ],
    ROUNDS,
  );
  table('verify (best of rounds)', verifyRows, 'c2pa-rs Reader, init per file (reference)');

  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-provenance-'));
  try {
    const keys = await generateDevCredentials({ outDir: join(dir, 'keys') });
    const signer = await loadSigningCredentials({ certPath: keys.files.signerChain, keyPath: keys.files.signerKey });
    const inputs: string[] = [];
    for (let i = 0; i < SIGN_COUNT; i++) {
      const path = join(dir, `in-${i}.jpg`);
      writeFileSync(path, await photo(i));
      inputs.push(path);
    }
    console.log(`\nsign: ${SIGN_COUNT} JPEGs of 640x480, es256, dev credentials`);
    const reserveSize = reserveSizeFor(signer);
    const definition = { claim_generator_info: [{ name: 'bench', version: '1' }], assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created', digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia' }] } }] };
    const rawSignAll = async (): Promise<number> => {
      for (const input of inputs) {
        await buildSignedAsset({
          definition,
          mime: 'image/jpeg',
          source: readFileSync(input),
          ingredients: [],
          signer: { alg: signer.algorithm, reserveSize, sign: async (claim) => coseSign1(signer, claim, reserveSize) },
        });
      }
      return inputs.length;
    };
    const vigilSignAll = async (): Promise<number> => {
      for (const [i, input] of inputs.entries()) await signImage({ input, output: join(dir, `out-${i}.jpg`), signer });
      return inputs.length;
    };
    const vigilSignNoThumbnail = async (): Promise<number> => {
      for (const [i, input] of inputs.entries()) await signImage({ input, output: join(dir, `out-${i}.jpg`), signer, thumbnail: false });
      return inputs.length;
    };
    await rawSignAll();
    await vigilSignAll();
    const signRows = await interleaved(
      [
        ['vigil signImage (thumbnail, write, read back)', vigilSignAll],
        ['vigil signImage --no-thumbnail', vigilSignNoThumbnail],
        ['raw c2pa-rs Builder (init once)', rawSignAll],
      ],
      ROUNDS,
    );
    table('sign (best of rounds)', signRows, 'raw c2pa-rs Builder (init once)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
