/**
 * The runner of README.md and docs/*.md as a tested contract (readme.test.ts runs README.md,
 * docs.test.ts the guides, so the two run in parallel): every fenced block marked `runnable` is run with
 * bash, as written, in a temporary folder per document (fixtures/ and audits/ linked in, `vigil` on
 * PATH running this checkout's CLI). Blocks marked `needs=…` are skipped, with the reason, only when
 * that thing is absent here. The only rewrites are ports: the service's 8080 and Redis's 6379 become
 * free ports, so a run never collides with a server already on the machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../../src/report/browser.js';
import { codeBlocks, documents, namedRepoPaths, readDocument, type CodeBlock, type Need } from './blocks.js';

const ROOT = process.cwd();
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

function chromiumFound(): boolean {
  try {
    findChromium();
    return true;
  } catch {
    return false;
  }
}

/** Why each need is unmet here, or undefined when it is met. */
const MISSING: Record<Need, string | undefined> = {
  redis: onPath('redis-server') ? undefined : 'redis-server is not installed',
  chromium: chromiumFound() ? undefined : 'Chromium is not installed (or VIGIL_CHROMIUM not set)',
  ffmpeg: onPath('ffmpeg') ? undefined : 'ffmpeg is not installed',
  gpu: onPath('nvidia-smi') && spawnSync('nvidia-smi', ['-L']).status === 0 ? undefined : 'no NVIDIA GPU on this machine',
};

function missing(block: CodeBlock): string | undefined {
  const reasons = block.needs.map((need) => MISSING[need]).filter((reason): reason is string => reason !== undefined);
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

interface Sandbox {
  dir: string;
  servicePort: number;
  redisPort: number;
  redis?: ChildProcess;
  /** Every `vigil` run of the block: "<exit code> <args>". */
  log: string;
}

async function sandbox(): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-readme-'));
  for (const linked of ['fixtures', 'audits']) symlinkSync(join(ROOT, linked), join(dir, linked));
  mkdirSync(join(dir, '.bin'));
  const log = join(dir, '.bin', 'vigil-runs.log');
  // Exit 1 (fail), 3 (inconclusive) and 4 (not judged) are audit verdicts, documented outcomes of a correct run; 2 is an input error.
  writeFileSync(
    join(dir, '.bin', 'vigil'),
    `#!/bin/sh\necho "start $*" >> "${log}"\nnode --import "file://${TSX}" "${join(ROOT, 'src', 'cli', 'main.ts')}" "$@"\nrc=$?\necho "$rc $*" >> "${log}"\ncase $rc in 1|3|4) exit 0;; esac\nexit $rc\n`,
    { mode: 0o755 },
  );
  return { dir, servicePort: await freePort(), redisPort: await freePort(), log };
}

/** The block as the user types it, with the two well-known ports swapped for free ones. */
function localised(code: string, box: Sandbox): string {
  return code.replace(/\b8080\b/g, String(box.servicePort)).replace(/redis:\/\/[\w.]+:6379/g, `redis://127.0.0.1:${box.redisPort}`);
}

function runBlock(code: string, box: Sandbox): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', code], {
      cwd: box.dir,
      env: { ...process.env, PATH: `${join(box.dir, '.bin')}:${process.env.PATH ?? ''}`, NO_COLOR: '1' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (status) => {
      // Background jobs of the block (a server, a worker) end with it.
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // the group is already gone
      }
      resolve({ code: status, output });
    });
  });
}

const ALL = documents(ROOT).map((document) => ({ document, blocks: codeBlocks(document, readDocument(ROOT, document)) }));

/** The checks that read the documents only (fast): paths exist, nothing names ../shared, README blocks are marked. */
export function describeStaticChecks(): void {

describe('README.md and docs/*.md name only what a fresh clone has', () => {
  // ../shared holds test corpora beside the development checkout; a user's clone has none.
  it('README.md does not refer to ../shared', () => {
    expect(readDocument(ROOT, 'README.md')).not.toMatch(/\.\.\/shared/);
  });

  it.each(ALL.map(({ document }) => document))('no code block of %s refers to ../shared', (document) => {
    const blocks = ALL.find((entry) => entry.document === document)!.blocks;
    expect(blocks.filter((block) => block.code.includes('../shared')).map((block) => `${document}:${block.line}`)).toEqual([]);
  });

  it.each(ALL.map(({ document }) => document))('every repository file a code block of %s names exists', (document) => {
    const blocks = ALL.find((entry) => entry.document === document)!.blocks;
    const absent = blocks.flatMap((block) => namedRepoPaths(block.code).filter((path) => !existsSync(join(ROOT, path))).map((path) => `${document}:${block.line} ${path}`));
    expect(absent).toEqual([]);
  });

  it('every README block that runs vigil is marked runnable (or manual, on purpose)', () => {
    const unmarked = ALL[0].blocks.filter((block) => /^\s*(?:[A-Z_]+=\S+\s+)?vigil\s/m.test(block.code) && !block.runnable && !block.manual);
    expect(unmarked.map((block) => `README.md:${block.line}`)).toEqual([]);
  });
});

}

/** Runs every `runnable` block of the given documents, in order, one temporary folder per document. */
export function describeRunnable(which: (document: string) => boolean): void {
for (const { document, blocks } of ALL.filter((entry) => which(entry.document))) {
  const runnable = blocks.filter((block) => block.runnable);
  if (runnable.length === 0) continue;
  describe(`runnable blocks of ${document}`, () => {
    let box: Sandbox;
    beforeAll(async () => {
      box = await sandbox();
      if (runnable.some((block) => block.needs.includes('redis')) && MISSING.redis === undefined) {
        box.redis = spawn('redis-server', ['--port', String(box.redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
        for (let i = 0; i < 50 && spawnSync('redis-cli', ['-p', String(box.redisPort), 'ping']).stdout?.toString().trim() !== 'PONG'; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    });
    afterAll(() => {
      box.redis?.kill('SIGTERM');
      rmSync(box.dir, { recursive: true, force: true });
    });

    for (const block of runnable) {
      const reason = missing(block);
      const name = `${document}:${block.line}${reason ? ` (skipped: ${reason})` : ''}`;
      it.skipIf(reason !== undefined)(
        name,
        async () => {
          writeFileSync(box.log, '');
          const run = await runBlock(localised(block.code, box), box);
          const runs = readFileSync(box.log, 'utf8').trim().split('\n').filter((line) => line !== '');
          expect(run.code, `${name} exited ${run.code}:\n${run.output.slice(-3000)}`).toBe(0);
          // Every vigil run ended with 0 or a verdict code (1, 3, 4), never 2 (input error) or a crash.
          // (A server the block stops with `kill` has a start line and no exit line.)
          expect(runs.filter((line) => !/^(start|[0134]) /.test(line)), run.output.slice(-3000)).toEqual([]);
          if (/\bvigil\s/.test(block.code)) expect(runs.length).toBeGreaterThan(0);
        },
        600_000,
      );
    }
  });
}
}
