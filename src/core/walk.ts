/**
 * The one folder walker. A folder given by the user is walked without leaving it: a symbolic link
 * whose target lies outside the folder (`evil -> /etc/passwd`, `sub/up -> ..`'s parent) is skipped,
 * a link to a folder inside it is skipped too (its files are walked where they really are, so
 * `sub/up -> ..` cannot multiply records or loop), and devices, FIFOs and sockets are never
 * returned. With `followSymlinks` every link is followed, each real folder walked once.
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';

export interface WalkOptions {
  /** Extensions (without the dot, any case) of the files wanted; every plain file when absent. */
  extensions?: readonly string[];
  /** Follow symbolic links wherever they lead (`--follow-symlinks`). Default false. */
  followSymlinks?: boolean;
  /** Include names starting with a dot. Default false. */
  dot?: boolean;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Every wanted plain file under `root`, as `join(root, relative path)`, sorted by relative path.
 * A `root` that is not a folder gives an empty list.
 */
export async function walkFiles(root: string, options: WalkOptions = {}): Promise<string[]> {
  const realRoot = await realpath(root).catch(() => undefined);
  if (realRoot === undefined || !(await stat(realRoot)).isDirectory()) return [];
  const wanted = options.extensions === undefined ? undefined : new Set(options.extensions.map((e) => e.toLowerCase()));
  const visited = new Set<string>([realRoot]);
  const found: string[] = [];

  const wantedName = (name: string): boolean => {
    if (wanted === undefined) return true;
    const dot = name.lastIndexOf('.');
    return dot > 0 && wanted.has(name.slice(dot + 1).toLowerCase());
  };

  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // unreadable folder: nothing from it
    }
    for (const entry of entries) {
      if (!options.dot && entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      const relPath = rel === '' ? entry.name : join(rel, entry.name);
      if (entry.isDirectory()) {
        await walk(path, relPath);
      } else if (entry.isFile()) {
        if (wantedName(entry.name)) found.push(relPath);
      } else if (entry.isSymbolicLink()) {
        const target = await realpath(path).catch(() => undefined);
        if (target === undefined) continue; // dangling
        if (!options.followSymlinks && !inside(realRoot, target)) continue;
        const info = await stat(target).catch(() => undefined);
        if (info?.isFile()) {
          if (wantedName(entry.name)) found.push(relPath);
        } else if (info?.isDirectory() && options.followSymlinks && !visited.has(target)) {
          visited.add(target);
          await walk(path, relPath);
        }
      }
      // Devices, FIFOs and sockets are never inputs.
    }
  };
  await walk(root, '');
  return found.sort().map((rel) => join(root, rel));
}
