import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import type { ScreenRunResults } from '../../src/screen/result.js';
import { pngBomb } from '../hardening/hostile-inputs.js';

const CLI = join(PACKAGE_ROOT, 'src', 'cli', 'main.ts');
const KEY = 'serve-cli-test-key-0123456789';
const CONFORMANCE_DIR = process.env.VIGIL_C2PA_CONFORMANCE ?? join(PACKAGE_ROOT, '..', 'shared', 'conformance', 'c2pa-rs');
const IMAGE = join(PACKAGE_ROOT, 'fixtures', 'screen', 'heldout', 'real', 'real-heldout-000.jpg');

let serverTmp: string;
let server: ChildProcess;
let base: string;
let serverLog = '';

beforeAll(async () => {
  // The server's own temp dir: whatever it leaves there would be a temp file it should not write.
  serverTmp = await mkdtemp(join(tmpdir(), 'vigil-serve-tmp-'));
  server = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--port', '0', '--max-pixels', '10000000'], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, VIGIL_API_KEYS: KEY, TMPDIR: serverTmp, CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  base = await new Promise<string>((resolve, reject) => {
    server.stderr?.on('data', (chunk: Buffer) => {
      serverLog += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(serverLog);
      if (match && serverLog.includes('vigil serve: ready')) resolve(match[1]);
    });
    server.once('exit', (code) => reject(new Error(`vigil serve exited with ${code}: ${serverLog}`)));
  });
}, 60_000);

afterAll(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  await rm(serverTmp, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${KEY}` };

describe('vigil serve (real engines, child process)', () => {
  it('returns exactly the per-file record of vigil screen --json for an upload', async () => {
    const bytes = await readFile(IMAGE);
    const response = await fetch(`${base}/v1/screen?filename=${encodeURIComponent(IMAGE)}`, { method: 'POST', headers: auth, body: new Uint8Array(bytes) });
    expect(response.status).toBe(200);
    const served = (await response.json()) as Record<string, unknown>;

    const cli = spawn(process.execPath, ['--import', 'tsx', CLI, 'screen', IMAGE, '--json', '--no-cache'], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    cli.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await new Promise((resolve) => cli.once('exit', resolve));
    const local = JSON.parse(stdout) as ScreenRunResults;
    // The upload's name is the last path segment; everything else is the same record.
    expect({ ...served, file: local.files[0].file }).toEqual(local.files[0]);
    expect(served.file).toBe('real-heldout-000.jpg');
  }, 60_000);

  it.skipIf(!existsSync(CONFORMANCE_DIR))('verifies C2PA provenance of an upload', async () => {
    const bytes = await readFile(join(CONFORMANCE_DIR, 'CA.jpg'));
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)]), 'CA.jpg');
    const response = await fetch(`${base}/v1/provenance/verify`, { method: 'POST', headers: auth, body: form });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { path: string; state: string };
    expect(result.path).toBe('CA.jpg');
    expect(['Valid', 'Trusted', 'Invalid']).toContain(result.state);
  });

  it('refuses a decompression bomb by its header and a corrupt image with a named 422', async () => {
    const bomb = await fetch(`${base}/v1/screen?filename=bomb.png`, { method: 'POST', headers: auth, body: new Uint8Array(pngBomb()) });
    expect(bomb.status).toBe(413);
    const corrupt = await fetch(`${base}/v1/screen?filename=c.jpg`, { method: 'POST', headers: auth, body: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]) });
    expect(corrupt.status).toBe(422);
    expect(((await corrupt.json()) as { error: { message: string } }).error.message).toMatch(/^c\.jpg: /);
  });

  it('drains on SIGTERM, exits 0 and leaves no temp files', async () => {
    // The upload's first half is sent before SIGTERM and its second half after: the request is
    // certainly in flight when shutdown starts, and must still be answered.
    const bytes = new Uint8Array(await readFile(IMAGE));
    let sendRest: () => void = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, bytes.length >> 1));
        sendRest = () => {
          controller.enqueue(bytes.subarray(bytes.length >> 1));
          controller.close();
        };
      },
    });
    const inFlight = fetch(`${base}/v1/screen`, { method: 'POST', headers: auth, body, duplex: 'half' } as RequestInit);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    sendRest();
    expect((await inFlight).status).toBe(200);
    expect(await exited).toBe(0);
    expect(serverLog).toMatch(/SIGTERM, draining/);
    // tsx (the dev runner used here) keeps its own tsx-* folder there; vigil leaves nothing.
    expect((await readdir(serverTmp)).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
  });
});
