/**
 * The guarded I/O layer under attack: reports re-rendered from a results.json that names local
 * images by absolute path, `--out` naming an existing file, and runs killed mid-write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
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
