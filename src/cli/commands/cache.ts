import type { Command } from 'commander';
import { rm, stat } from 'node:fs/promises';
import { invalidArgument } from '../../core/errors.js';
import { printable } from '../../core/printable.js';
import { LEGACY_CACHE_EXTENSIONS } from '../../core/extensions.js';
import { walkFiles } from '../../core/walk.js';
import { CACHE_DB_FILE, cacheStore } from '../../vision/cache-store.js';
import { resolveCacheDir } from '../../vision/cache.js';
import { action, EXIT, printJson } from '../run.js';

interface CacheFlags {
  cacheDir?: string;
  json?: boolean;
}

function positive(name: string): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isFinite(number) || number <= 0) throw invalidArgument(name, 'a positive number', value);
    return number;
  };
}

/** The folder's store; the caller names it or gets $VIGIL_CACHE_DIR / .vigil-cache. */
function storeOf(flags: CacheFlags): ReturnType<typeof cacheStore> {
  return cacheStore(resolveCacheDir(flags.cacheDir) as string);
}

async function fileBytes(path: string): Promise<number> {
  const sizes = await Promise.all(['', '-wal', '-shm'].map((suffix) => stat(`${path}${suffix}`).then((s) => s.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

export function register(program: Command): void {
  const cache = program
    .command('cache')
    .description(`Inspect and maintain the vision observation cache (${CACHE_DB_FILE} in --cache-dir, $VIGIL_CACHE_DIR or .vigil-cache)`);
  const dirOption = (command: Command): Command =>
    command.option('--cache-dir <dir>', 'cache folder (default: $VIGIL_CACHE_DIR or .vigil-cache)').option('--json', 'print JSON on stdout');

  dirOption(cache.command('stats').description('Entries, stored bytes and file size, per model and output')).action(
    action(async (flags: CacheFlags) => {
      const store = storeOf(flags);
      const stats = store.stats(await fileBytes(store.path));
      if (flags.json) printJson(stats);
      else {
        console.log(`${printable(stats.path)}: ${stats.entries} entries, ${mib(stats.dataBytes)} of values, ${mib(stats.fileBytes)} on disk`);
        for (const m of stats.models) console.log(`  model ${m.modelSha256.slice(0, 12)}… ${printable(m.output)}: ${m.entries} entries, ${mib(m.dataBytes)}`);
      }
      return EXIT.ok;
    }),
  );

  dirOption(
    cache
      .command('verify')
      .description("Check every entry's checksum; exit 1 when any entry was damaged or rewritten")
      .option('--repair', 'delete the damaged entries (they are recomputed on next use)'),
  ).action(
    action(async (flags: CacheFlags & { repair?: boolean }) => {
      const report = storeOf(flags).verify({ repair: flags.repair === true });
      if (flags.json) printJson({ ...report, repaired: flags.repair === true });
      else {
        console.log(`${report.checked} entries checked, ${report.corrupt} damaged or rewritten${report.corrupt > 0 ? (flags.repair ? ' (deleted)' : '; run with --repair to delete them') : ''}`);
      }
      return report.corrupt > 0 ? EXIT.verdictFail : EXIT.ok;
    }),
  );

  dirOption(
    cache
      .command('prune')
      .description('Delete entries: least recently used beyond --max-mb, unused for --older-than-days, of one --model; and files of the old one-file-per-image layout')
      .option('--max-mb <n>', 'keep at most this many MiB of values (least recently used go first)', positive('--max-mb'))
      .option('--older-than-days <n>', 'delete entries unused for this many days', positive('--older-than-days'))
      .option('--model <sha256>', "delete one model's entries"),
  ).action(
    action(async (flags: CacheFlags & { maxMb?: number; olderThanDays?: number; model?: string }) => {
      const store = storeOf(flags);
      const removed = store.prune({
        maxBytes: flags.maxMb === undefined ? undefined : Math.floor(flags.maxMb * 2 ** 20),
        olderThanMs: flags.olderThanDays === undefined ? undefined : flags.olderThanDays * 86_400_000,
        modelSha256: flags.model,
      });
      // The old layout: one .obs file per entry in per-model folders; never read any more.
      const legacy = await walkFiles(store.dir, { extensions: LEGACY_CACHE_EXTENSIONS });
      for (const file of legacy) await rm(file, { force: true });
      const after = store.stats(await fileBytes(store.path));
      if (flags.json) printJson({ removed, legacyFilesRemoved: legacy.length, ...after });
      else console.log(`removed ${removed} entries and ${legacy.length} old-layout files; ${after.entries} entries, ${mib(after.dataBytes)} left`);
      return EXIT.ok;
    }),
  );
}
