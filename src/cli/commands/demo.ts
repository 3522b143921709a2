import type { Command } from 'commander';
import { resolve } from 'node:path';
import { action, printJson } from '../run.js';

/** `vigil demo`: the orchestration lives in src/cli/demo.ts, loaded only when the demo runs. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('Run a bias audit, a screening evaluation and a provenance sign+verify on the bundled fixtures, and write their reports with an index page')
    .option('--out <dir>', 'output folder', 'reports/demo')
    .option('--json', 'print the demo index document on stdout')
    .addHelpText(
      'after',
      `
Example:
  vigil demo                 # then open reports/demo/index.html`,
    )
    .action(
      action(async (options: { out: string; json?: boolean }) => {
        const { runDemo } = await import('../demo.js');
        const result = await runDemo(options.out, { quiet: options.json === true });
        if (options.json) printJson(result);
        else process.stderr.write(`vigil: demo reports in ${resolve(options.out, 'index.html')}\n`);
      }),
    );
}
