import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/version.js';

const CLI = join(PACKAGE_ROOT, 'src', 'cli', 'main.ts');

/** The queue secret the tests' enqueuers and workers share (queue mode refuses to start without one). */
export const TEST_QUEUE_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

/** The vigil CLI as a child process, run from the package root like a user's checkout. */
export function vigil(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: PACKAGE_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '1', VIGIL_QUEUE_SECRET: TEST_QUEUE_SECRET, ...env },
  });
}

/** Runs the CLI to completion. */
export async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = vigil(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

/** A `vigil worker` child process and the jobs it reported done. */
export function startCliWorker(url: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; completed: () => number; log: () => string } {
  const child = vigil(['worker', '--queue', url, '--lock-duration', '2000', '--no-cache', ...extraArgs], env);
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  return { child, completed: () => (log.match(/: completed /g) ?? []).length, log: () => log };
}

/** SIGTERM, then wait for the exit. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
