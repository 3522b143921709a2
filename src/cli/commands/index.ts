import type { Command } from 'commander';

/**
 * Every command group, with the top-level command names it registers. Groups load lazily: a run of
 * `vigil provenance verify` imports only provenance.ts, and each group's heavy modules (models,
 * Chromium, the report stack) are imported inside the action that needs them, so `vigil --help`
 * and a one-file verify pay only for what they use. Keep this list sorted;
 * tests/cli/lazy.test.ts checks the names against what each group registers.
 */
export interface CommandGroup {
  commands: readonly string[];
  load(): Promise<{ register(program: Command): void }>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { commands: ['bias', 'probes'], load: () => import('./bias.js') },
  { commands: ['cache'], load: () => import('./cache.js') },
  { commands: ['demo'], load: () => import('./demo.js') },
  { commands: ['detect', 'segment'], load: () => import('./detect.js') },
  { commands: ['provenance'], load: () => import('./provenance.js') },
  { commands: ['report', 'model-card'], load: () => import('./report.js') },
  { commands: ['results'], load: () => import('./results.js') },
  { commands: ['screen'], load: () => import('./screen.js') },
  { commands: ['serve', 'worker', 'queue-status'], load: () => import('./serve.js') },
  { commands: ['models', 'classify', 'embed'], load: () => import('./vision.js') },
];

/**
 * Registers the group that owns `command` (the first word after `vigil`), or every group when no
 * group owns it (`--help`, `help`, a typo: commander then lists or suggests every command).
 */
export async function registerCommands(program: Command, command?: string): Promise<void> {
  const owner = COMMAND_GROUPS.find((group) => command !== undefined && group.commands.includes(command));
  for (const group of owner ? [owner] : COMMAND_GROUPS) (await group.load()).register(program);
}
