import type { Command } from 'commander';
import { register as registerProvenance } from './provenance.js';
import { register as registerVision } from './vision.js';

/**
 * Every command group registers here (one line each). Keep this list sorted.
 */
export function registerCommands(program: Command): void {
  registerProvenance(program);
  registerVision(program);
}
