/**
 * The guarded I/O layer under attack: reports re-rendered from a results.json that names local
 * images by absolute path, `--out` naming an existing file or folder, whole-file inputs that are
 * FIFOs, folders or oversized, and runs killed mid-write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadSpec } from '../../src/bias/spec.js';
import { VigilInputError } from '../../src/core/errors.js';
import { MAX_CONFIG_BYTES } from '../../src/core/files.js';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { renderReport } from '../../src/report/render.js';
import { screenDocument } from '../report/documents.js';
import { run } from '../service/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-adversarial-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function solid(path: string, colour: { r: number; g: number; b: number }): Promise<void> {
  await sharp({ create: { width: 48, height: 48, channels: 3, background: colour } }).png().toFile(path);
}

describe('reports re-rendered from a results.json from elsewhere', () => {
  it('embed images under the results folder, never a local file named by an absolute path', async () => {
    const results = join(dir, 'results');
    const elsewhere = join(dir, 'private');
    await mkdir(join(results, 'evidence'), { recursive: true });
    await mkdir(elsewhere, { recursive: true });
    await solid(join(results, 'evidence', 'spectrum.png'), { r: 10, g: 200, b: 10 });
    await solid(join(elsewhere, 'secret.png'), { r: 250, g: 0, b: 250 });
    const doc = screenDocument({ image: 'photo.png', spectrum: 'evidence/spectrum.png', heatmap: join(elsewhere, 'secret.png') });
    await writeFile(join(results, 'results.json'), JSON.stringify(doc));
    const images = (html: string): string[] => [...html.matchAll(/data:image\/[a-z]+;base64,[A-Za-z0-9+/=]+/g)].map((m) => m[0]).sort();
    // The same document with the outside image missing altogether: what a confined render must show.
    const withoutSecret = images(await renderReport(screenDocument({ image: 'photo.png', spectrum: 'evidence/spectrum.png', heatmap: join(elsewhere, 'absent.png') }), { baseDir: results }));
    expect(withoutSecret.length).toBeGreaterThan(0); // the results' own evidence is embedded

    // Before: a render that trusts the document embeds the private file.
    const trusting = images(await renderReport(doc, { baseDir: results }));
    expect(trusting).not.toEqual(withoutSecret);
    // After: confined to the results' folder, only its own evidence is embedded.
    expect(images(await renderReport(doc, { baseDir: results, imagesUnder: results }))).toEqual(withoutSecret);

    // `vigil report` confines re-rendering to the results' folder.
    const cli = await run(['report', join(results, 'results.json'), '--out', join(results, 'report.html')]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(images(await readFile(join(results, 'report.html'), 'utf8'))).toEqual(withoutSecret);
  }, 60_000);
});

describe('--out checked before any work', () => {
  it.each([
    ['screen', (out: string) => ['screen', join(PACKAGE_ROOT, 'fixtures/screen/heldout/real'), '--out', out]],
    ['provenance verify', (out: string) => ['provenance', 'verify', join(PACKAGE_ROOT, 'fixtures/screen/heldout/real/real-heldout-000.jpg'), '--out', out]],
  ])('%s --out <an existing file> fails at once with exit 2 and a plain message, no stack trace', async (_name, args) => {
    const file = join(dir, `not-a-folder-${_name.replace(/ /g, '-')}.txt`);
    await writeFile(file, 'keep me');
    const started = Date.now();
    const result = await run(args(file));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Expected --out to name a folder but ${file} is an existing file`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await readFile(file, 'utf8')).toBe('keep me');
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});

describe('--out checked before anything is read or rendered (report, model-card, results sign, classify, embed, segment)', () => {
  // The results/images named do not exist: a command that did any work first would complain about them instead.
  const missing = join('/nonexistent-vigil', 'results.json');
  it.each([
    ['report', (out: string) => ['report', missing, '--out', out], 'file'],
    ['report --format md', (out: string) => ['report', missing, '--format', 'md', '--out', `${out}.md`], 'file'],
    ['model-card', (out: string) => ['model-card', missing, '--out', out], 'file'],
    ['results sign', (out: string) => ['results', 'sign', missing, '--cert', missing, '--key', missing, '--out', out], 'file'],
    ['classify', (out: string) => ['classify', missing, '--model', join(PACKAGE_ROOT, 'fixtures/models/clip'), '--labels', 'a,b', '--out', `${out}.json`], 'file'],
    ['embed', (out: string) => ['embed', missing, '--model', join(PACKAGE_ROOT, 'fixtures/models/clip'), '--out', `${out}.jsonl`], 'file'],
  ])('%s --out <an existing folder> fails first with exit 2 naming --out', async (name, args) => {
    const folder = join(dir, `a-folder-${name.replace(/ /g, '-')}`);
    const out = args(folder).at(-1)!;
    await mkdir(out, { recursive: true });
    const result = await run(args(folder));
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`Expected --out to name a file but ${out} is an existing folder`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('report --out under an existing file, and segment --out <an existing file>, fail first with exit 2', async () => {
    const file = join(dir, 'plain-file.txt');
    await writeFile(file, 'keep me');
    const report = await run(['report', missing, '--out', join(file, 'report.html')]);
    expect(report.code, report.stderr).toBe(2);
    expect(report.stderr).toContain(`Expected --out's folder to name a folder but ${file} is an existing file`);
    const segment = await run(['segment', missing, '--model', join(PACKAGE_ROOT, 'fixtures/detect/models/segmenter'), '--out', file]);
    expect(segment.code, segment.stderr).toBe(2);
    expect(segment.stderr).toContain(`Expected --out to name a folder but ${file} is an existing file`);
    expect(await readFile(file, 'utf8')).toBe('keep me');
  }, 60_000);
});

describe('whole-file inputs through readInputFile', () => {
  it('an audit spec that is a FIFO, a folder or oversized: exit 2 naming the file, never a hang', async () => {
    const fifo = join(dir, 'spec-fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const cli = await run(['bias', fifo]);
    expect(cli.code, cli.stderr).toBe(2);
    expect(cli.stderr).toContain(`Cannot read the audit spec ${fifo}: it is not a plain file (a device, FIFO or socket)`);

    const folder = join(dir, 'spec-folder.yaml');
    await mkdir(folder, { recursive: true });
    await expect(loadSpec(folder)).rejects.toThrow(`Cannot read the audit spec ${folder}: it is a folder, not a file`);
    // A sparse file: the size is checked before anything is read.
    const huge = join(dir, 'spec-huge.yaml');
    await writeFile(huge, 'name: huge\n');
    await truncate(huge, MAX_CONFIG_BYTES + 1);
    await expect(loadSpec(huge)).rejects.toThrow(`Cannot read the audit spec ${huge}: it is ${MAX_CONFIG_BYTES + 1} bytes, over the limit of ${MAX_CONFIG_BYTES} bytes`);
    await expect(loadSpec(huge)).rejects.toBeInstanceOf(VigilInputError);
  }, 60_000);

  it('results.json for `vigil report` and `vigil results verify` that is a FIFO: exit 2 naming the file', async () => {
    const fifo = join(dir, 'results-fifo.json');
    execFileSync('mkfifo', [fifo]);
    for (const args of [['report', fifo, '--out', join(dir, 'fifo-report.html')], ['results', 'verify', fifo]]) {
      const cli = await run(args);
      expect(cli.code, cli.stderr).toBe(2);
      expect(cli.stderr).toContain(`${fifo}: it is not a plain file (a device, FIFO or socket)`);
    }
  }, 60_000);
});

describe('killed mid-write', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s leaves no .tmp files in evidence/', async (signal) => {
    const evidence = join(dir, `evidence-${signal}`);
    await mkdir(evidence, { recursive: true });
    const script = join(dir, `writer-${signal}.mts`);
    await writeFile(
      script,
      `import { writeFileAtomic } from ${JSON.stringify(join(PACKAGE_ROOT, 'src/core/files.ts'))};
const big = Buffer.alloc(64 * 1024 * 1024, 7);
await writeFileAtomic(${JSON.stringify(evidence)} + '/first.png', big);
process.stdout.write('writing\\n');
for (let i = 0; ; i++) await writeFileAtomic(${JSON.stringify(evidence)} + '/map-' + (i % 4) + '.png', big);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    child.kill(signal);
    expect(await exited).toBe(signal);
    const left = await readdir(evidence);
    expect(left.filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(left.length).toBeGreaterThan(0);
  }, 60_000);
});
