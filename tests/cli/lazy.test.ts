/**
 * Start-up loads only what a command needs: each command group is imported only for its own
 * commands, and heavy modules (onnxruntime, Chromium, the report stack) only inside the actions
 * that use them. Checked by recording every module a real CLI run resolves.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_GROUPS, COMMAND_SUMMARIES } from '../../src/cli/commands/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-lazy-'));
const hooks = join(dir, 'hooks.mjs');
writeFileSync(
  hooks,
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.VIGIL_MODULE_LOG, result.url + '\\n');
  return result;
}
`,
);
const register = join(dir, 'register.mjs');
writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);

/** Runs the CLI and returns every module URL it resolved. */
function modulesLoaded(args: string[]): { status: number | null; modules: string[]; stderr: string } {
  const log = join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(log, '');
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', register, 'src/cli/main.ts', ...args], {
    env: { ...process.env, VIGIL_MODULE_LOG: log },
    encoding: 'utf8',
  });
  return { status: run.status, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean), stderr: run.stderr };
}

const HEAVY = [/node_modules\/onnxruntime-node\//, /node_modules\/playwright-core\//, /node_modules\/handlebars\//, /node_modules\/vega/, /\/src\/report\//, /\/src\/vision\/session/];

describe('lazy command loading', () => {
  it('the group table names exactly the commands each group registers', async () => {
    for (const group of COMMAND_GROUPS) {
      const program = new Command();
      (await group.load()).register(program);
      expect(program.commands.map((command) => command.name()).sort()).toEqual([...group.commands].sort());
      // What `vigil --help` lists without loading the group is what the group registers.
      for (const command of program.commands) expect(COMMAND_SUMMARIES[command.name()], command.name()).toBe(command.description());
    }
  });

  it('vigil --help lists every command without loading any command group', () => {
    const run = modulesLoaded(['--help']);
    expect(run.status).toBe(0);
    expect(run.modules.filter((url) => url.includes('/src/cli/commands/') && !url.endsWith('/index.ts'))).toEqual([]);
  });

  it('vigil provenance verify of one file loads no model runtime, browser or report stack', () => {
    const run = modulesLoaded(['provenance', 'verify', 'fixtures/screen/heldout/real/real-heldout-000.jpg', '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.modules.some((url) => url.includes('/src/provenance/verify'))).toBe(true);
    expect(run.modules.filter((url) => HEAVY.some((pattern) => pattern.test(url)))).toEqual([]);
  });

  it('vigil --version loads no command group', () => {
    const run = modulesLoaded(['--version']);
    expect(run.status).toBe(0);
    expect(run.modules.filter((url) => url.includes('/src/cli/commands/') && !url.endsWith('/index.ts'))).toEqual([]);
  });
});
