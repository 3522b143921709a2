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
 * What `vigil --help` lists, without loading any group: each top-level command's one-line
 * description, the same text its group registers (tests/cli/lazy.test.ts checks they agree). A
 * command missing here makes `--help` load every group instead, so the list is never short.
 */
export const COMMAND_SUMMARIES: Readonly<Record<string, string>> = {
  bias: 'Bias audit: run an audit spec (audits/*.yaml), or audit a predictions CSV with --predictions',
  probes: 'Probe sets: validate images and labels',
  cache: 'Inspect and maintain the vision observation cache (cache.sqlite in --cache-dir, $VIGIL_CACHE_DIR or .vigil-cache)',
  demo: 'Run a bias audit, a screening evaluation and a provenance sign+verify on the bundled fixtures, and write their reports with an index page',
  detect: 'Detect objects with a DETR/YOLOS-style detector (boxes in pixels of each original image)',
  segment: 'Semantic segmentation with a Segformer/DPT-style model: a class per pixel at each image\'s original size',
  provenance: 'C2PA Content Credentials: verify, sign, development keys',
  report: 'Re-render a report from a results.json alone (no models, no recomputation)',
  'model-card': 'Write the "Bias, Risks, and Limitations" and evaluation sections of a Hugging Face model card from a bias audit',
  results: 'Sign audit results (results.json) and verify a signature, so a report can be shown to come from unaltered results',
  screen: 'Screen images and videos for synthetic-media artifacts; train and evaluate the screener. "vigil screen <paths...>" is "vigil screen files <paths...>".',
  serve: 'Serve upload screening and C2PA verification over HTTP (POST /v1/screen, /v1/provenance/verify)',
  worker: 'Consume queued screening and bias jobs from Redis (run any number, on any machines)',
  'queue-status': 'Job counts, connected workers and the newest dead letters of a Redis queue',
  models: 'Inspect, quantize and compare model folders',
  classify: 'Classify images with a ViT classifier, or zero-shot with CLIP over the given labels',
  embed: 'Write CLIP image embeddings (L2-normalised) to a .jsonl or .npy file',
};

/**
 * For `vigil --help` alone: every command as a name and its summary, no group loaded. Returns
 * false (registering nothing) when a command has no summary, and the caller loads the groups.
 */
export function registerSummaries(program: Command): boolean {
  const names = COMMAND_GROUPS.flatMap((group) => group.commands);
  if (!names.every((name) => name in COMMAND_SUMMARIES)) return false;
  for (const name of names) program.command(name).description(COMMAND_SUMMARIES[name]);
  return true;
}

/**
 * Registers the group that owns `command` (the first word after `vigil`), or every group when no
 * group owns it (`--help`, `help`, a typo: commander then lists or suggests every command).
 */
export async function registerCommands(program: Command, command?: string): Promise<void> {
  const owner = COMMAND_GROUPS.find((group) => command !== undefined && group.commands.includes(command));
  for (const group of owner ? [owner] : COMMAND_GROUPS) (await group.load()).register(program);
}
