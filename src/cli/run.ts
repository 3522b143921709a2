import { CommanderError, type Command } from 'commander';
import { VigilInputError } from '../core/errors.js';
import { printableLines } from '../core/printable.js';

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, verdictFail: 1, inputError: 2 } as const;

/**
 * Wraps a command action: the action returns its exit code; input errors print their message and
 * exit 2; anything else is a bug, printed with its stack, also exit 2 (the run did not complete).
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = code ?? EXIT.ok;
    } catch (error) {
      reportError(error);
      process.exitCode = EXIT.inputError;
    }
  };
}

export function reportError(error: unknown): void {
  if (error instanceof VigilInputError) {
    // Messages quote file names and fields from the input: escaped, so they cannot drive the terminal.
    process.stderr.write(`vigil: ${printableLines(error.message)}\n`);
  } else if (error instanceof CommanderError) {
    // commander has already printed its message
  } else {
    process.stderr.write(`vigil: unexpected error: ${printableLines(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
  }
}

/** Commander's usage errors (unknown option, missing argument) exit 2 like every input error. */
export function configureExitCodes(program: Command): void {
  program.exitOverride((err) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      process.exit(EXIT.ok);
    }
    process.exit(EXIT.inputError);
  });
}

/** Parses a comma-separated option value ("a,b , c") into trimmed non-empty items. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Writes a JSON document to stdout (for --json). */
export function printJson(document: unknown): void {
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
}
