/**
 * `--out` is checked before any work starts: a run of an hour must not fail at its end because its
 * output folder turns out to be a file or unwritable. Errors name the option, what was expected and
 * what was found (exit 2, nothing written).
 */
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errorMessage, VigilInputError } from './errors.js';

/** Checks that `dir` is a folder vigil can write into (creating it when missing); returns it resolved. */
export async function checkOutputFolder(dir: string, option = '--out'): Promise<string> {
  const path = resolve(dir);
  const info = await stat(path).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) {
    throw new VigilInputError(`Expected ${option} to name a folder but ${dir} is an existing file; choose another path`, { subject: option });
  }
  try {
    await mkdir(path, { recursive: true });
    await access(path, constants.W_OK);
  } catch (error) {
    throw new VigilInputError(`Expected ${option} to name a folder vigil can write into, but ${dir} is not (${errorMessage(error)})`, { subject: option });
  }
  return path;
}

/** Checks that `file` can be written: its folder exists or can be made, and it is not a folder itself. */
export async function checkOutputFile(file: string, option = '--out'): Promise<string> {
  const path = resolve(file);
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    throw new VigilInputError(`Expected ${option} to name a file but ${file} is an existing folder`, { subject: option });
  }
  await checkOutputFolder(dirname(path), `${option}'s folder`);
  return path;
}
