/**
 * The one way untrusted text (file names, labels, C2PA fields, queue payloads, error messages that
 * quote them) reaches a terminal or a log line. Control characters (C0, DEL, C1: ESC sequences that
 * retitle the window, clear the screen or move the cursor), bidirectional overrides and isolates
 * (U+202E makes "gpj.exe" read "exe.jpg"), line/paragraph separators and newlines (which forge
 * extra output lines) are written as visible escapes, so what is printed is what the string holds.
 */

/** Bidi controls: LRM, RLM, ALM, LRE..RLO, LRI..PDI, plus line/paragraph separators and BOM/zero-width no-break. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

function escapeCharacter(character: string): string {
  const named = NAMED[character];
  if (named !== undefined) return named;
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` safe for one terminal or log line: every control, bidi and line-breaking character shown
 * as an escape (`\e`, `\n`, `\x07`, `\u202e`). Backslashes are left alone, so plain paths read as
 * they are; the escapes are for reading, not for parsing back.
 */
export function printable(text: unknown): string {
  return String(text).replace(UNSAFE, escapeCharacter);
}

/**
 * For multi-line messages vigil composes itself (error listings): the same escaping, but newlines
 * stay line breaks. Each continuation line is indented, so a line smuggled in by quoted data cannot
 * pass for a line of vigil's own output.
 */
export function printableLines(text: unknown): string {
  return String(text)
    .replace(UNSAFE_EXCEPT_NEWLINE, escapeCharacter)
    .split('\n')
    .map((line, index) => (index === 0 || line === '' || line.startsWith(' ') ? line : `  ${line}`))
    .join('\n');
}
