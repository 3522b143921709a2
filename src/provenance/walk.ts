import { open, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { errorMessage } from '../core/errors.js';
import { walk } from '../core/walk.js';
import { sniffProvenanceMime, unsupportedReason } from './formats.js';
import type { SkippedFile } from './result.js';

/**
 * The files a provenance run covers. Files named on the command line are always verified (an
 * unsupported one is reported as an error); in folders every file is either verified or listed
 * as skipped with the reason, so "82 files in, 58 in the report" can no longer happen silently.
 * Files are read whole (c2pa-rs's wasm reader takes the asset in memory), one at a time, so
 * memory is bounded by the largest file; files over the size limit are skipped. Folders are
 * walked by core's walker, which also applies --include and --exclude and lists every entry it
 * does not return (links out of the folder, devices, FIFOs, hidden names) with the reason.
 */

export interface WalkOptions {
  /** Globs (relative to each folder) a file must match to be verified; default every file. */
  include?: readonly string[];
  /** Globs (relative to each folder) of files not to verify. */
  exclude?: readonly string[];
  /** Files larger than this are skipped (default 1 GiB). */
  maxFileBytes?: number;
  /** Treat `.c2pa` files next to an asset of the same name as that asset's manifest (--sidecar). */
  sidecar?: boolean;
  /** Follow symbolic links out of the folder (--follow-symlinks); default: such links are listed as skipped. */
  followSymlinks?: boolean;
}

export interface WalkResult {
  files: string[];
  skipped: SkippedFile[];
  /** Asset path -> sidecar manifest store path, with --sidecar. */
  sidecars: Map<string, string>;
}

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024 * 1024;

const SNIFF_BYTES = 4096;

async function head(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The sidecar of an asset, c2patool's convention: same folder, same name, extension .c2pa. */
export function sidecarPathFor(asset: string): string {
  return join(dirname(asset), `${basename(asset, extname(asset))}.c2pa`);
}

async function walkFolder(folder: string, options: WalkOptions, result: WalkResult): Promise<void> {
  // Core's walker applies --include/--exclude and reports every entry it does not return, with the reason.
  const candidates: string[] = [];
  const onSkip = (entry: SkippedFile): void => void result.skipped.push(entry);
  for await (const path of walk(folder, { include: options.include, exclude: options.exclude, followSymlinks: options.followSymlinks, onSkip })) {
    candidates.push(path);
  }
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const assets = new Set(candidates.filter((path) => extname(path).toLowerCase() !== '.c2pa').map((path) => sidecarPathFor(path)));
  for (const path of candidates) {
    try {
      const size = (await stat(path)).size;
      if (size > maxBytes) {
        result.skipped.push({ path, reason: `larger than the ${maxBytes}-byte limit (--max-file-size): ${size} bytes` });
        continue;
      }
      const bytes = await head(path);
      const mime = sniffProvenanceMime(bytes);
      if (mime === undefined) {
        result.skipped.push({ path, reason: unsupportedReason(bytes, true) });
      } else if (mime === 'application/c2pa') {
        if (options.sidecar && assets.has(path)) result.skipped.push({ path, reason: 'sidecar manifest store, verified with its asset' });
        else result.skipped.push({ path, reason: options.sidecar ? 'manifest store (.c2pa) with no asset of the same name next to it' : 'sidecar manifest store (.c2pa): pass --sidecar to verify its asset with it' });
      } else {
        result.files.push(path);
      }
    } catch (error) {
      result.skipped.push({ path, reason: `cannot read (${errorMessage(error)})` });
    }
  }
}

/** Expands the paths of a run into the files to verify, the skipped files and the sidecars. */
export async function collectFiles(paths: readonly string[], options: WalkOptions = {}): Promise<WalkResult> {
  const result: WalkResult = { files: [], skipped: [], sidecars: new Map() };
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) await walkFolder(path, options, result);
    else if (info === undefined && isDynamicPattern(path)) {
      // A glob the shell left alone: like a folder, it does not follow links unless --follow-symlinks.
      const matches = await glob(path, { onlyFiles: true, dot: false, followSymbolicLinks: options.followSymlinks === true });
      for (const match of matches.sort()) result.files.push(match);
    } else result.files.push(path);
  }
  if (options.sidecar) {
    for (const file of result.files) {
      const sidecar = sidecarPathFor(file);
      if (sidecar !== file && (await stat(sidecar).catch(() => undefined))?.isFile()) result.sidecars.set(file, sidecar);
    }
  }
  result.files = [...new Set(result.files)];
  result.skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return result;
}
