import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { verifyPaths } from '../../src/provenance/verify.js';
import { renderReport } from '../../src/report/render.js';
import type { ScreenRunResults } from '../../src/screen/result.js';
import { createScreener, type Screener } from '../../src/screen/screener.js';
import { HOSTILE_STRINGS, hostileImages, withinTime, CONFORMANCE_DIR } from './hostile-inputs.js';
import { existsSync } from 'node:fs';

const GOOD = join(PACKAGE_ROOT, 'fixtures', 'screen', 'heldout', 'real', 'real-heldout-000.jpg');
let screener: Screener;
let dir: string;

beforeAll(async () => {
  screener = await createScreener({ cacheDir: false });
  dir = await mkdtemp(join(tmpdir(), 'vigil-hostile-screen-'));
});
afterAll(async () => {
  await screener?.release();
  await rm(dir, { recursive: true, force: true });
});

describe('screening hostile images', () => {
  it('records every undecodable input as a named error, scores the rest, and never throws or hangs', async () => {
    const hostile = await hostileImages();
    const inputs = [...hostile.map(({ name, bytes }) => ({ name, bytes })), { name: 'good.jpg', bytes: await readFile(GOOD) }];
    const results = await withinTime(screener.screen(inputs), 60_000, 'screening hostile images');
    expect(results.map((r) => r.file)).toEqual(inputs.map((i) => i.name));
    for (const [i, { name, expected }] of hostile.entries()) {
      const result = results[i];
      if (expected === 'ok' || (expected === 'either' && result.status === 'ok')) {
        expect(result.status, `${name}: ${result.error}`).toBe('ok');
        expect(result.score).toBeGreaterThanOrEqual(0);
      } else {
        expect(result.status, name).toBe('error');
        expect(result.error, name).toMatch(new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
        expect(result.score).toBeNull();
      }
    }
    expect(results.at(-1)?.status).toBe('ok');
    expect(results.find((r) => r.file === 'bomb-50000x50000.png')?.error).toMatch(/pixel|limit/i);
  }, 90_000);
});

describe('a vigil screen batch with bad files and hostile names', () => {
  it('completes, lists bad files with reasons, neutralises CSV cells, escapes HTML, and writes atomically', async () => {
    const input = join(dir, 'batch');
    const out = join(dir, 'out');
    await mkdir(input);
    await copyFile(GOOD, join(input, 'good.jpg'));
    await copyFile(GOOD, join(input, '=HYPERLINK(1).jpg'));
    await copyFile(GOOD, join(input, '<img src=x onerror=alert(1)>.jpg'));
    await writeFile(join(input, 'empty.png'), Buffer.alloc(0));
    await writeFile(join(input, 'truncated.jpg'), (await readFile(GOOD)).subarray(0, 200));
    const child = spawn(process.execPath, ['--import', 'tsx', join(PACKAGE_ROOT, 'src', 'cli', 'main.ts'), 'screen', input, '--out', out, '--no-cache'], {
      cwd: PACKAGE_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await withinTime(new Promise<number | null>((resolve) => child.once('exit', resolve)), 60_000, 'vigil screen');
    expect(code, stderr).toBe(0);

    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as ScreenRunResults;
    expect(results.summary.files).toBe(5);
    expect(results.summary.errors).toBe(2);
    const errors = results.files.filter((f) => f.status === 'error');
    expect(errors.map((f) => f.file.split('/').pop()).sort()).toEqual(['empty.png', 'truncated.jpg']);
    for (const file of errors) expect(file.error).toBeTruthy();
    // No temp file of the atomic writer left behind.
    expect((await readdir(out)).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    const csv = parse(await readFile(join(out, 'triage.csv'), 'utf8')) as string[][];
    const fileColumn = csv[0].indexOf('file');
    for (const row of csv.slice(1)) expect(row[fileColumn]).not.toMatch(/^[=+\-@]/);
    expect(csv.some((row) => row[fileColumn].endsWith('=HYPERLINK(1).jpg'))).toBe(true);

    const html = await renderReport(results);
    expect(html).not.toContain('<img src=x onerror=alert(1)>');
    expect(html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
  }, 90_000);
});

describe('hostile strings in manifest fields are escaped in the provenance report', () => {
  it.skipIf(!existsSync(CONFORMANCE_DIR))('renders a claim generator and file name full of HTML as text', async () => {
    const results = await verifyPaths([join(CONFORMANCE_DIR, 'CA.jpg')], { quiet: true });
    const file = results.files[0];
    file.path = `${HOSTILE_STRINGS[0]}.jpg`;
    if (file.activeManifest) {
      file.activeManifest.claimGenerator = HOSTILE_STRINGS[1];
      if ('title' in file.activeManifest) (file.activeManifest as { title?: string }).title = HOSTILE_STRINGS[0];
    }
    const html = await renderReport(results);
    expect(html).not.toContain('<script>window.__pwned=1</script>');
    expect(html).not.toContain('<img src=x onerror=alert(1)>');
    expect(html).toContain('&lt;script&gt;window.__pwned&#x3D;1&lt;/script&gt;');
  });
});
