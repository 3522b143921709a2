/**
 * Terminal escape injection, Markdown injection and folder walks leaving their root: the attacks
 * of the adversarial review, reproduced and asserted fixed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markdownText } from '../../src/core/markdown.js';
import { printable, printableLines } from '../../src/core/printable.js';
import { walkFiles } from '../../src/core/walk.js';
import { renderMarkdown } from '../../src/report/render.js';
import { screenDocument } from '../report/documents.js';
import { expandImagePath } from '../../src/vision/images.js';
import { run } from '../service/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-adversarial-output-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('terminal escape injection', () => {
  it('printable() shows ESC sequences, bell, newlines and bidi overrides as visible escapes', () => {
    const title = '\u001b]0;pwned\u0007';
    const clear = '\u001b[2J\u001b[H';
    const rtl = 'invoice\u202Egnp.exe';
    expect(printable(title)).toBe('\\e]0;pwned\\x07');
    expect(printable(clear)).toBe('\\e[2J\\e[H');
    expect(printable(rtl)).toBe('invoice\\u202egnp.exe');
    expect(printable('a.png\nlikely-synthetic 0.001 forged.png')).toBe('a.png\\nlikely-synthetic 0.001 forged.png');
    expect(printable('\u009b31m C1 CSI')).toBe('\\x9b31m C1 CSI');
    expect(printable('plain/path/ünïcode 写真.jpg')).toBe('plain/path/ünïcode 写真.jpg');
    for (const text of [title, clear, rtl, 'x\r\ny', '\u2028\u2066']) expect(printable(text)).not.toMatch(RAW_CONTROL);
  });

  it('printableLines() keeps vigil\'s own line breaks but indents continuation lines, so a smuggled line cannot pass as output', () => {
    expect(printableLines('Problems:\n  line 2\nvigil: forged')).toBe('Problems:\n  line 2\n  vigil: forged');
    expect(printableLines('\u001b[2Jx')).toBe('\\e[2Jx');
  });

  it('a CLI error quoting a hostile file name prints it escaped (title change, screen clear)', async () => {
    const name = join(dir, 'evil\u001b]0;pwned\u0007\u001b[2J.json');
    const result = await run(['report', name]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('evil\\e]0;pwned\\x07\\e[2J.json');
    expect(result.stderr).not.toMatch(RAW_CONTROL);
  }, 60_000);
});

describe('Markdown injection from group names and labels', () => {
  it('images, links, autolinks, emphasis, HTML and block markers stay text', () => {
    const image = markdownText('![](http://tracker.example/pixel.png)');
    expect(image).not.toMatch(/!\[[^\]]*\]\(/);
    expect(image).not.toContain('http://');
    expect(markdownText('[click me](javascript:alert(1))')).not.toMatch(/\]\(/);
    expect(markdownText('[ref]: http://evil')).not.toMatch(/\]:/);
    expect(markdownText('*bold* __strong__')).not.toMatch(/[*_]/);
    expect(markdownText('<img src=x onerror=alert(1)>')).not.toContain('<');
    expect(markdownText('# heading\n> quote\n- item\n1. item')).not.toMatch(/^(#|>|-|1\.) /m);
    expect(markdownText('www.evil.example')).not.toMatch(/www\./);
    expect(markdownText('a\u001b[2Jb')).not.toMatch(RAW_CONTROL);
  });

  it('report.md of results with ESC sequences, a tracking image and a link in file names and reasons carries none of them live', async () => {
    const doc = screenDocument({ image: 'x\u001b[2J\u001b]0;t\u0007.png', spectrum: 's.png', heatmap: 'h.png' });
    doc.files[0].reasons = ['![](http://tracker.example/p.png) [win](http://evil.example) <img src=x>'];
    const md = await renderMarkdown(doc);
    expect(md).not.toMatch(RAW_CONTROL);
    expect(md).not.toMatch(/!\[[^\]]*\]\(/);
    expect(md).not.toMatch(/\]\(http/);
    expect(md).not.toMatch(/<img/);
    expect(md).toContain('x&#92;e[2J&#92;e]0;t&#92;x07.png');
  });

  it('is idempotent (escaping twice changes nothing) and keeps ordinary text readable', () => {
    const hostile = '![x](http://e) *y* \\[z\\](u) <b> snake_case ≥ 0.8 [0.57, 0.67]';
    expect(markdownText(markdownText(hostile))).toBe(markdownText(hostile));
    expect(markdownText('demographic_parity_ratio >= 0.8, CI [0.57, 0.67]')).toBe('demographic_parity_ratio >= 0.8, CI [0.57, 0.67]');
    // A backslash in the data cannot cancel an escape.
    expect(markdownText('\\](http://e)')).not.toMatch(/\]\(/);
  });
});

describe('folder walks stay inside the given folder', () => {
  it('8 images with `sub/up -> ..`, a link to /etc/passwd and a FIFO give 8 records, not 39', async () => {
    const root = join(dir, 'walk');
    await mkdir(join(root, 'sub', 'deeper'), { recursive: true });
    const names = ['a.png', 'b.jpg', 'c.png', 'd.webp', 'sub/e.png', 'sub/f.png', 'sub/deeper/g.png', 'sub/deeper/h.jpeg'];
    for (const name of names) await writeFile(join(root, name), 'x');
    await symlink('..', join(root, 'sub', 'up'));
    await symlink(root, join(root, 'sub', 'deeper', 'loop'));
    await symlink('/etc/passwd', join(root, 'passwd.png'));
    const outside = join(dir, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'secret.png'), 'x');
    await symlink(outside, join(root, 'elsewhere'));
    execFileSync('mkfifo', [join(root, 'pipe.png')]);

    const expected = names.map((name) => join(root, name)).sort();
    expect(await expandImagePath(root)).toEqual(expected);
    expect(await walkFiles(root, { extensions: ['png', 'jpg', 'jpeg', 'webp'] })).toEqual(expected);
    // --follow-symlinks: links are followed, every real folder once (no loop through sub/up).
    const followed = await walkFiles(root, { extensions: ['png'], followSymlinks: true });
    expect(followed).toContain(join(root, 'elsewhere', 'secret.png'));
    expect(followed).toContain(join(root, 'passwd.png'));
    expect(followed).not.toContain(join(root, 'pipe.png'));
    expect(followed.length).toBeLessThan(20);
  });
});
