import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The runnable-block contract of README.md and docs/*.md. A fenced block whose info string has the
 * word `runnable` is executed by tests/readme/ (runner.ts), in order, in one temporary folder
 * per document (with `fixtures/` and `audits/` linked in, and `vigil` on PATH):
 *
 *     ```sh runnable                  runs everywhere
 *     ```sh runnable needs=redis      runs when redis-server is installed (the test starts one)
 *     ```sh runnable needs=ffmpeg,chromium,gpu
 *     ```sh manual                    documented but not run by the test (minutes long, or needs your data)
 *
 * GitHub and other renderers use only the first word (the language) of the info string.
 */

/** What a block may need; each is checked before the block runs and the block is skipped, with the reason, when absent. */
export const NEEDS = ['redis', 'chromium', 'ffmpeg', 'gpu'] as const;
export type Need = (typeof NEEDS)[number];

export interface CodeBlock {
  /** The document, relative to the repository root. */
  document: string;
  /** 1-based line of the opening fence. */
  line: number;
  language: string;
  runnable: boolean;
  /** Marked `manual`: a real command, deliberately not run by the test. */
  manual: boolean;
  needs: Need[];
  code: string;
}

/** Every fenced code block of a Markdown document, with its info-string markers. */
export function codeBlocks(document: string, text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    const words = open[2].trim().split(/\s+/).filter((w) => w !== '');
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].startsWith(fence)) body.push(lines[j++]);
    const needs: Need[] = [];
    for (const word of words.slice(1)) {
      const match = /^needs=(.+)$/.exec(word);
      if (!match) continue;
      for (const need of match[1].split(',')) {
        if (!(NEEDS as readonly string[]).includes(need)) {
          throw new Error(`${document}:${i + 1}: unknown needs=${need} (expected one of ${NEEDS.join(', ')})`);
        }
        needs.push(need as Need);
      }
    }
    blocks.push({ document, line: i + 1, language: words[0] ?? '', runnable: words.includes('runnable'), manual: words.includes('manual'), needs, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** README.md and every docs/*.md, relative to the repository root. */
export function documents(root: string): string[] {
  return ['README.md', ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`)];
}

export function readDocument(root: string, document: string): string {
  return readFileSync(join(root, document), 'utf8');
}

/**
 * Repository paths a command names (fixtures/…, audits/…, templates/…, tools/…; generated bench/ files are not checked): each must exist,
 * so an example never points at a file nobody has. Globs and placeholders are cut at the first
 * wildcard or brace.
 */
export function namedRepoPaths(code: string): string[] {
  const paths = new Set<string>();
  for (const match of code.matchAll(/(?<![\w./-])((?:fixtures|audits|templates|tools)\/[\w./-]*)([*?[{]?)/g)) {
    let path = match[1].replace(/[.,:;)]+$/, '').replace(/\/$/, '');
    // A glob or brace pattern (fixtures/images/00*.png): only the folder part must exist.
    if (match[2] !== '') path = path.slice(0, Math.max(0, path.lastIndexOf('/')));
    if (path !== '') paths.add(path);
  }
  return [...paths];
}
