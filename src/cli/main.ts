#!/usr/bin/env node
import { Command } from 'commander';
import { VIGIL_VERSION } from '../core/version.js';
import { configureExitCodes } from './run.js';
// One module per command group; each adds its subcommands to the program.
import { registerCommands, registerSummaries } from './commands/index.js';

const program = new Command('vigil')
  .description('Responsible-AI audits of vision models: bias, synthetic-media screening, C2PA provenance')
  .version(VIGIL_VERSION);
// Subcommands made with program.command() inherit the exit-code override.
configureExitCodes(program);
// Only the group of the command being run is loaded (see commands/index.ts).
const first = process.argv[2];
const topLevelHelp = first === undefined || first === '--help' || first === '-h';
if (first === '--version' || first === '-V') {
  // nothing to load
} else if (!(topLevelHelp && registerSummaries(program))) {
  await registerCommands(program, first === 'help' ? process.argv[3] : first);
}

// `vigil screen dir --csv | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

await program.parseAsync(process.argv);
