/** What a person sees on the console: short errors that say what to do, and summaries of what was left out. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'vigil-console-'));

function vigil(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('vigil serve on a port already in use', () => {
  let blocker: Server;
  let port: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(() => blocker.close());

  it('says so in one line naming --port, with no stack trace, and exits 2', async () => {
    const run = await vigil(['serve', '--host', '127.0.0.1', '--port', String(port)], { VIGIL_API_KEYS: 'k'.repeat(32) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`vigil: Port ${port} on 127.0.0.1 is already in use`);
    expect(run.stderr).toContain('--port');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('vigil bias --predictions with bad rows', () => {
  it('prints one summary line of the dropped rows with the first reasons', async () => {
    const lines = readFileSync('audits/data/cloud-api-predictions.csv', 'utf8').trim().split('\n').slice(0, 41);
    lines.push(',,,,,', 'x.jpg,,Black,other,professional,0.5', 'y.jpg,Male,,other,professional,0.4', 'z.jpg,Female,White,,professional,0.3');
    const csv = join(dir, 'predictions.csv');
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const run = await vigil(['bias', '--predictions', csv, '--sensitive', 'gender,race', '--label', 'label', '--pred', 'prediction', '--pos-label', 'professional', '--n-boot', '50', '--out', join(dir, 'out')]);
    const summary = run.stdout.split('\n').filter((line) => line.includes('dropped'));
    expect(summary).toEqual([
      '  dropped 4 of 44 predictions rows (line 42 column gender: empty value in column "gender"; line 43 column gender: empty value in column "gender"; line 44 column race: empty value in column "race"; 1 more rows; all listed in results.json)',
    ]);
  });
});

describe('npm configuration', () => {
  it('has no project config key npm does not know (npm would warn on every command)', () => {
    const run = spawnSync('npm', ['config', 'get', 'save-exact'], { encoding: 'utf8' });
    expect(run.stderr).not.toContain('Unknown project config');
    expect(run.stdout.trim()).toBe('true');
  });
});
