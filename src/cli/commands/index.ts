import type { Command } from 'commander';
import { register as registerBias } from './bias.js';
import { register as registerProvenance } from './provenance.js';
import { register as registerReport } from './report.js';
import { register as registerScreen } from './screen.js';
import { register as registerServe } from './serve.js';
import { register as registerVision } from './vision.js';

/**
 * Every command group registers here (one line each). Keep this list sorted.
 */
export function registerCommands(program: Command): void {
  registerBias(program);
  registerProvenance(program);
  registerReport(program);
  registerScreen(program);
  registerServe(program);
  registerVision(program);
}
