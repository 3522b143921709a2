/**
 * Paths named by someone else (a queued job's probe or model folder) are opened only when they lie
 * under one of the roots the operator allowed, after symlinks are resolved, and are plain files or
 * folders of plain files: never a device (`/dev/zero` would be hashed forever), a FIFO (blocks), a
 * socket, or anything outside (`/etc/shadow`). Refusals name the path but never read from it.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { VigilInputError } from './errors.js';

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The roots with symlinks resolved (a root that does not exist is dropped). */
export async function resolveRoots(roots: readonly string[]): Promise<string[]> {
  const resolved = await Promise.all(roots.map((root) => realpath(resolve(root)).catch(() => undefined)));
  return resolved.filter((root): root is string => root !== undefined);
}

/**
 * The real path of `path` when it is a plain file (or, with `folder`, a folder holding only plain
 * files and folders) under one of `roots`, each file at most `maxBytes`; otherwise a VigilInputError
 * saying which rule it broke.
 */
export async function allowedPath(
  path: string,
  roots: readonly string[],
  options: { folder?: boolean; maxBytes: number; subject: string },
): Promise<string> {
  const real = await realpath(resolve(path)).catch(() => undefined);
  if (real === undefined) throw new VigilInputError(`${options.subject} ${path} does not exist on this worker`, { subject: path });
  if (!roots.some((root) => inside(root, real))) {
    throw new VigilInputError(
      `${options.subject} ${path} is outside this worker's allowed roots (${roots.join(', ') || 'none'}); ` +
        'start the worker with --allow-root <dir> for the folder that holds it',
      { subject: path },
    );
  }
  const check = async (file: string, depth: number): Promise<void> => {
    const info = await lstat(file);
    if (info.isSymbolicLink()) {
      const target = await realpath(file).catch(() => undefined);
      if (target === undefined || !roots.some((root) => inside(root, target))) {
        throw new VigilInputError(`${options.subject} ${path}: ${file} links outside the allowed roots`, { subject: path });
      }
      return check(target, depth);
    }
    if (info.isDirectory() && options.folder && depth < 8) {
      for (const entry of await readdir(file)) await check(join(file, entry), depth + 1);
      return;
    }
    if (!info.isFile()) {
      throw new VigilInputError(`${options.subject} ${path}: ${file} is not a plain file (device, FIFO, socket or too deep a folder)`, { subject: path });
    }
    if (info.size > options.maxBytes) {
      throw new VigilInputError(`${options.subject} ${path}: ${file} is ${info.size} bytes, over the limit of ${options.maxBytes}`, { subject: path });
    }
  };
  const top = await stat(real);
  if (options.folder ? !top.isDirectory() : !top.isFile()) {
    throw new VigilInputError(`${options.subject} ${path} is not a ${options.folder ? 'folder' : 'plain file'}`, { subject: path });
  }
  await check(real, 0);
  return real;
}
