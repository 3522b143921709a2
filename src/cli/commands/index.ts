import type { Command } from 'commander';

/**
 * Every command group registers here (one line each). Keep this list sorted.
 */
export function registerCommands(_program: Command): void {
}
