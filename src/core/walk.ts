/**
 * The one folder walker. A folder given by the user is walked without leaving it: a symbolic link
 * whose target lies outside the folder (`evil -> /etc/passwd`, `sub/up -> ..`'s parent) is skipped,
 * a link to a folder inside it is skipped too (its files are walked where they really are, so
 * `sub/up -> ..` cannot multiply records or loop), and devices, FIFOs and sockets are never
 * returned. With `followSymlinks` every link is followed, each real folder walked once.
 *
 * Files are yielded as the walk reaches them (`walk`), so a caller can start on the first file of a
 * folder of a million without holding the list; `walkFiles` collects them. The order is the sorted
 * order of the relative paths either way: each folder's entries are sorted with a folder's name
 * compared as `name/`, which makes the depth-first order equal to sorting the whole list.
 */
import type { Dirent } from 'node:fs';
import { constants } from 'node:fs';
import { access, lstat, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';

/** An entry the walk did not return, and why (provenance lists every one of them). */
export interface SkippedEntry {
  path: string;
  reason: string;
}

export interface WalkOptions {
  /** Extensions (without the dot, any case) of the files wanted; every plain file when absent. */
  extensions?: readonly string[];
  /** Follow symbolic links wherever they lead (`--follow-symlinks`). Default false. */
  followSymlinks?: boolean;
  /** Include names starting with a dot. Default false. */
  dot?: boolean;
  /** Globs (relative to the folder, `/`-separated) a file must match; every file when absent or empty. */
  include?: readonly string[];
  /** Globs (relative to the folder) of files not wanted; matched before anything else, hidden names included. */
  exclude?: readonly string[];
  /**
   * Called for every entry not returned, with the reason. When given, hidden folders are walked too
   * (each file in them reported as hidden) so that no file goes unaccounted for.
   */
  onSkip?: (entry: SkippedEntry) => void;
}

export const HIDDEN_REASON = 'hidden file or folder (name starts with ".")';

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

interface Entry {
  name: string;
  /** Sort key: the name, with `/` appended for a folder. */
  key: string;
  kind: 'file' | 'folder' | 'skip';
  /** The real folder behind a followed link (walked once). */
  realFolder?: string;
  reason?: string;
}

/** The parts of a directory entry the walker looks at (a Dirent, or fs.Stats with the name). */
interface EntryKind {
  name: string;
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

/**
 * The walker's rules for one root: what an entry is (`classify`) and why a file is not wanted
 * (`rejection`). `walk` and `walkReaches` both use them, so they cannot disagree.
 */
function walkRules(realRoot: string, options: WalkOptions) {
  const wanted = options.extensions === undefined ? undefined : new Set(options.extensions.map((e) => e.toLowerCase()));
  const excluded = options.exclude?.length ? picomatch([...options.exclude], { dot: true }) : undefined;
  const included = options.include?.length ? picomatch([...options.include], { dot: options.dot === true }) : undefined;

  /** Why a file (relative path `rel`, hidden when under a dot name) is not wanted, or undefined. */
  const rejection = (name: string, rel: string, hidden: boolean): string | undefined => {
    const posix = rel.split('\\').join('/');
    if (excluded?.(posix)) return `excluded by --exclude ${options.exclude!.join(' ')}`;
    if (hidden) return HIDDEN_REASON;
    if (included && !included(posix)) return `not matched by --include ${options.include!.join(' ')}`;
    if (wanted !== undefined) {
      const dot = name.lastIndexOf('.');
      if (dot <= 0 || !wanted.has(name.slice(dot + 1).toLowerCase())) return `not one of the extensions ${[...wanted].join(', ')}`;
    }
    return undefined;
  };

  const classify = async (dir: string, entry: EntryKind): Promise<Entry> => {
    const name = entry.name;
    if (entry.isDirectory()) return { name, key: `${name}/`, kind: 'folder' };
    if (entry.isFile()) return { name, key: name, kind: 'file' };
    if (!entry.isSymbolicLink()) return { name, key: name, kind: 'skip', reason: 'not a plain file (a device, FIFO or socket)' };
    const target = await realpath(join(dir, name)).catch(() => undefined);
    if (target === undefined) return { name, key: name, kind: 'skip', reason: 'symbolic link to nothing (dangling)' };
    if (!options.followSymlinks && !inside(realRoot, target)) {
      return { name, key: name, kind: 'skip', reason: 'symbolic link to outside the folder (pass --follow-symlinks to follow it)' };
    }
    const info = await stat(target).catch(() => undefined);
    if (info?.isFile()) return { name, key: name, kind: 'file' };
    if (info?.isDirectory()) {
      if (!options.followSymlinks) return { name, key: `${name}/`, kind: 'skip', reason: 'symbolic link to a folder inside the folder (its files are listed where they are)' };
      return { name, key: `${name}/`, kind: 'folder', realFolder: target };
    }
    return { name, key: name, kind: 'skip', reason: 'symbolic link to something that is not a plain file or folder' };
  };

  /** Whether a folder entry is hidden here (under a dot name, unless `dot`). */
  const hides = (hidden: boolean, name: string): boolean => hidden || (!options.dot && name.startsWith('.'));

  return { rejection, classify, hides };
}

/**
 * Every wanted plain file under `root`, as `join(root, relative path)`, in sorted relative-path
 * order, yielded as the walk goes. A `root` that is not a folder yields nothing.
 */
export async function* walk(root: string, options: WalkOptions = {}): AsyncGenerator<string> {
  const realRoot = await realpath(root).catch(() => undefined);
  if (realRoot === undefined || !(await stat(realRoot)).isDirectory()) return;
  const { rejection, classify, hides } = walkRules(realRoot, options);
  const onSkip = options.onSkip;
  const visited = new Set<string>([realRoot]);

  async function* walkFolder(dir: string, rel: string, hidden: boolean): AsyncGenerator<string> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      onSkip?.({ path: dir, reason: `cannot read the folder (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
      return;
    }
    const entries = await Promise.all(dirents.map((entry) => classify(dir, entry)));
    entries.sort(byKey);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const relPath = rel === '' ? entry.name : join(rel, entry.name);
      const hiddenHere = hides(hidden, entry.name);
      if (entry.kind === 'skip') {
        onSkip?.({ path, reason: entry.reason! });
      } else if (entry.kind === 'folder') {
        // Hidden folders are only entered to account for their files.
        if (hiddenHere && onSkip === undefined) continue;
        if (options.followSymlinks) {
          // Links may lead back into folders walked already: each real folder is walked once.
          const real = entry.realFolder ?? (await realpath(path).catch(() => path));
          if (visited.has(real)) {
            onSkip?.({ path, reason: 'folder already walked (reached again through a symbolic link)' });
            continue;
          }
          visited.add(real);
        }
        yield* walkFolder(path, relPath, hiddenHere);
      } else {
        const reason = rejection(entry.name, relPath, hiddenHere);
        if (reason === undefined) yield path;
        else onSkip?.({ path, reason });
      }
    }
  }

  yield* walkFolder(root, '', false);
}

/**
 * Whether `walk(root, options)` yields `path` (as `join(root, relative path)`; compared after
 * resolving both), decided from that one path without walking the folder: every folder on the way
 * must be one the walk enters and can read, and the file one it keeps. Lets a caller tell that
 * two inputs overlap without holding the list of either. Not for `followSymlinks`, where a folder
 * reached twice is walked only the first time, which depends on the order of the whole walk.
 */
export async function walkReaches(root: string, path: string, options: WalkOptions = {}): Promise<boolean> {
  if (options.followSymlinks) throw new Error('walkReaches does not support followSymlinks');
  const rel = relative(resolve(root), resolve(path));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return false;
  const realRoot = await realpath(root).catch(() => undefined);
  if (realRoot === undefined || !(await stat(realRoot)).isDirectory()) return false;
  const { rejection, classify, hides } = walkRules(realRoot, options);
  const names = rel.split(sep);
  let dir = root;
  let hidden = false;
  for (const [i, name] of names.entries()) {
    // walk skips a folder it cannot read, so nothing under it is reached.
    if (!(await access(dir, constants.R_OK).then(() => true, () => false))) return false;
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (info === undefined) return false;
    const entry = await classify(dir, { name, isDirectory: () => info.isDirectory(), isFile: () => info.isFile(), isSymbolicLink: () => info.isSymbolicLink() });
    hidden = hides(hidden, name);
    if (i < names.length - 1) {
      // Hidden folders are entered only to report their files as skipped; none is yielded.
      if (entry.kind !== 'folder' || hidden) return false;
      dir = join(dir, name);
    } else {
      return entry.kind === 'file' && rejection(name, names.join('/'), hidden) === undefined;
    }
  }
  return false;
}

/** Every wanted plain file under `root` (see `walk`), collected into a list. */
export async function walkFiles(root: string, options: WalkOptions = {}): Promise<string[]> {
  const found: string[] = [];
  for await (const path of walk(root, options)) found.push(path);
  return found;
}
