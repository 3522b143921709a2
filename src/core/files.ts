import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, rmSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { VigilInputError, errorMessage } from './errors.js';
import { basename, dirname, join } from 'node:path';

/** Temp files (and temp folders, e.g. extracted video frames) in use: removed if the process exits or is interrupted before they are done. */
const pendingTemps = new Set<string>();
const INTERRUPTS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function removePendingTemps(): void {
  for (const temp of pendingTemps) rmSync(temp, { force: true, recursive: true });
  pendingTemps.clear();
}

/** On an interrupt: remove the temp files, then let the signal do what it would have done. */
function onInterrupt(signal: NodeJS.Signals): void {
  removePendingTemps();
  detachInterrupts();
  // Another listener (vigil serve's drain) keeps the process alive and handles the signal itself.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

let attached = false;

// Once attached, the listeners stay until an interrupt arrives. Detaching them whenever no temp
// file is pending raced with delivery: a signal caught while a write was pending but dispatched
// after it finished found no listener, was swallowed, and the process ran on.
function attachInterrupts(): void {
  if (attached) return;
  attached = true;
  for (const signal of INTERRUPTS) process.on(signal, onInterrupt);
  process.on('exit', removePendingTemps);
}

function detachInterrupts(): void {
  attached = false;
  for (const signal of INTERRUPTS) process.off(signal, onInterrupt);
  process.off('exit', removePendingTemps);
}

/** Registers a temp file or folder for removal on exit or interrupt (the interrupt then takes effect as it would have). */
export function trackTempFile(temp: string): () => void {
  pendingTemps.add(temp);
  attachInterrupts();
  return () => {
    pendingTemps.delete(temp);
  };
}

/** The temp file name writeFileAtomic uses beside `path` (hidden, random, `.tmp`). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes a file so that readers only ever see the old content or the complete new content:
 * write to a temp file in the same directory, then rename over the target. The temp file is
 * removed on any failure and on exit or interrupt (SIGINT, SIGTERM, SIGHUP) mid-write, so an
 * interrupted run leaves no `.tmp` files behind.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  const untrack = trackTempFile(temp);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    untrack();
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Streams the file, so hashing a large model does not hold it in memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Size limits of whole-file inputs (readInputFile's `maxBytes`), by kind, so a FIFO-sized mistake
 * or a hostile file cannot take the memory. Configuration: audit specs, keys and certificates,
 * trust lists, model configs, label lists. Documents: results.json, probe-set label files (Node
 * cannot hold a string much longer than 512 MiB anyway).
 */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;
export const MAX_DOCUMENT_BYTES = 512 * 1024 * 1024;

/** Why a file could not be read, in words (not just an errno). */
function readFailure(error: unknown): string {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return 'no such file (ENOENT)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (EACCES)';
    case 'EISDIR':
      return 'it is a folder, not a file (EISDIR)';
    default:
      return errorMessage(error);
  }
}

/**
 * The one way vigil reads a whole input file (an image to enqueue, a keys file, a results
 * document): only a plain file is read, never a device (`/dev/zero` would never end), a FIFO
 * (would block) or a socket; `maxBytes` bounds what is held in memory. Errors are VigilInputErrors
 * worded `Cannot read <what> <path>: <reason>` (exit 2 in a command, a per-file error in a batch).
 */
export async function readInputFile(path: string, options: { what?: string; maxBytes?: number } = {}): Promise<Buffer> {
  const what = options.what === undefined ? '' : `${options.what} `;
  const fail = (reason: string, cause?: unknown): VigilInputError =>
    new VigilInputError(`Cannot read ${what}${path}: ${reason}`, { subject: path, cause });
  let handle;
  try {
    // Non-blocking open: opening a FIFO must not wait for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw fail(readFailure(error), error);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw fail('it is a folder, not a file');
    if (!info.isFile()) throw fail('it is not a plain file (a device, FIFO or socket)');
    if (options.maxBytes !== undefined && info.size > options.maxBytes) {
      throw fail(`it is ${info.size} bytes, over the limit of ${options.maxBytes} bytes`);
    }
    return await handle.readFile();
  } catch (error) {
    throw error instanceof VigilInputError ? error : fail(readFailure(error), error);
  } finally {
    await handle.close();
  }
}
