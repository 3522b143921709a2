/**
 * Untrusted text (group names, labels, file names, C2PA fields) inside Markdown output: it must
 * stay text. Markdown renderers pass raw HTML through and turn `[x](url)` into links, `![](url)`
 * into images fetched when the page is viewed (a tracking pixel), `*x*`/`_x_` into emphasis and
 * bare `http://` URLs into links; a line starting `#`, `>`, `-`, `1.` becomes a heading, quote or list.
 *
 * Characters are written as numeric character references, which CommonMark always reads as
 * literal text, never as markup. Unlike backslash escapes this is idempotent (escaping twice
 * changes nothing), so a value escaped with its view and again by a table-cell helper stays right,
 * and a backslash in the data cannot cancel an escape.
 */
import { printable } from './printable.js';

const reference = (character: string): string => `&#${character.codePointAt(0)};`;

/** Inline markup characters: always written as references. */
const INLINE = /[\\`*~]/g;
/**
 * A `]` that would close link or image text (`](url)`, `][ref]`, or a `[ref]: url` definition):
 * without it no link, image or footnote can form, and brackets elsewhere (`[0.57, 0.67]`) stay readable.
 */
const LINK_CLOSE = /\](?=[([:])/g;
/** `_` opens or closes emphasis unless it sits between two letters or digits (snake_case stays readable). */
const UNDERSCORE = /(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu;
/** Block markers at the start of a line. */
const LINE_START = /^(\s{0,3})(#|>|[-+=]|\d{1,9}[.)])(?=\s|$)/gm;

/**
 * `text` as literal Markdown text: no HTML (`<` becomes `&lt;`), no link, image, emphasis, code
 * span or autolink, no block marker at a line start; control characters (ESC sequences, bidi
 * overrides) shown as visible escapes as on a terminal. Line breaks stay (table cells remove them).
 */
export function markdownText(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => printable(line))
    .join('\n')
    .replace(INLINE, reference)
    .replace(LINK_CLOSE, reference)
    .replace(UNDERSCORE, reference)
    .replace(/</g, '&lt;')
    .replace(LINE_START, (_match, indent: string, marker: string) => `${indent}${marker.slice(0, -1)}${reference(marker.slice(-1))}`)
    .replace(/:\/\//g, '&#58;//')
    .replace(/\b(www)\./gi, '$1&#46;');
}
