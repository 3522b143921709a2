#!/usr/bin/env node
import { Command } from 'commander';
import { VIGIL_VERSION } from '../core/version.js';
import { configureExitCodes } from './run.js';
// One module per command group; each adds its subcommands to the program.
import { registerCommands } from './commands/index.js';

const program = new Command('vigil')
  .description('Responsible-AI audits of vision models: bias, synthetic-media screening, C2PA provenance')
  .version(VIGIL_VERSION);
// Subcommands made with program.command() inherit the exit-code override.
configureExitCodes(program);
registerCommands(program);

await program.parseAsync(process.argv);
