import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'csv-parse/sync';
import { toCsv } from '../../src/core/csv.js';
import { VigilInputError } from '../../src/core/errors.js';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { loadProbeSet } from '../../src/probes/index.js';
import { HOSTILE_STRINGS, solidImage, withinTime } from './hostile-inputs.js';

let base: string;
let root: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'vigil-hostile-probes-'));
  root = join(base, 'probe');
  await mkdir(root);
  for (const name of ['a.png', 'b.png', 'c.png', 'd.png']) await writeFile(join(root, name), await solidImage('png', 16 + name.charCodeAt(0) % 7));
  await writeFile(join(base, 'outside.png'), await solidImage('png'));
  await symlink(join(base, 'outside.png'), join(root, 'link-out.png'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function csvLine(cells: string[]): string {
  return cells.map((cell) => (/[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell)).join(',');
}

describe('probe CSVs with hostile rows', () => {
  it('rejects path traversal, absolute paths, symlinks out and NUL bytes row by row, keeping good rows', async () => {
    const lines = [
      'file,gender,label',
      'a.png,female,cat',
      '../outside.png,male,cat',
      '/etc/passwd,male,dog',
      'link-out.png,female,dog',
      'b\u0000.png,male,dog',
      'b.png,male,dog',
    ];
    await writeFile(join(root, 'labels.csv'), lines.join('\n'));
    const set = await withinTime(loadProbeSet(join(root, 'labels.csv'), { format: 'csv', quiet: true }), 20_000, 'probe loader');
    expect(set.rows.map((r) => r.file)).toEqual(['a.png', 'b.png']);
    const byLine = new Map(set.problems.map((p) => [p.line, p.message]));
    expect(byLine.get(3)).toMatch(/escapes the probe-set root/);
    expect(byLine.get(4)).toMatch(/absolute path/);
    expect(byLine.get(5)).toMatch(/symlink resolves outside/);
    expect(byLine.get(6)).toBeDefined();
  });

  it('keeps formula-prefixed, hostile and 1 MB cells as data, and neutralises them when written back as CSV', async () => {
    const big = 'y'.repeat(1 << 20);
    const hostileRows = [
      ['a.png', '=HYPERLINK("http://evil.example")', HOSTILE_STRINGS[0]],
      ['b.png', '+cmd|" /C calc"!A0', '@SUM(A1:A9)'],
      ['c.png', '-2+3', big],
      ['d.png', HOSTILE_STRINGS[1], 'cat'],
    ];
    await writeFile(join(root, 'hostile.csv'), ['file,group,label', ...hostileRows.map(csvLine)].join('\n'));
    const set = await withinTime(loadProbeSet(join(root, 'hostile.csv'), { format: 'csv', quiet: true }), 20_000, 'probe loader');
    expect(set.rows).toHaveLength(4);
    expect(set.rows[0].attributes.group).toBe('=HYPERLINK("http://evil.example")');
    expect(set.rows[2].label).toBe(big);

    const csv = toCsv(['file', 'group', 'label'], set.rows.map((r) => [r.file, r.attributes.group, r.label ?? '']));
    const parsed = parse(csv) as string[][];
    for (const row of parsed.slice(1)) {
      for (const cell of row) expect(cell, cell.slice(0, 40)).not.toMatch(/^[=+\-@\t\r]/);
    }
    expect(parsed[1][1]).toBe(`'=HYPERLINK("http://evil.example")`);
    expect(parsed[3][1]).toBe("'-2+3");
    expect(parsed[3][2]).toHaveLength(1 << 20);
  });

  it('answers a labels file that is not CSV at all with a named error', async () => {
    await writeFile(join(root, 'binary.csv'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 0xff, 0xfe, 0x22, 0x0a]));
    await expect(loadProbeSet(join(root, 'binary.csv'), { format: 'csv', quiet: true })).rejects.toBeInstanceOf(VigilInputError);
    await writeFile(join(root, 'empty.csv'), '');
    await expect(loadProbeSet(join(root, 'empty.csv'), { format: 'csv', quiet: true })).rejects.toBeInstanceOf(VigilInputError);
  });
});

describe('every CSV vigil writes goes through toCsv', () => {
  it('neutralises = + - @ tab and CR prefixes in text cells, not in numbers', () => {
    const csv = toCsv(['=col'], [['=1+1'], ['+1'], ['-1'], ['@x'], ['\tx'], ['\rx'], [-3], ['plain']]);
    expect(parse(csv)).toEqual([["'=col"], ["'=1+1"], ["'+1"], ["'-1"], ["'@x"], ["'\tx"], ["'\rx"], ['-3'], ['plain']]);
  });

  it('has no other CSV writer in src/', async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith('.ts') && relative(PACKAGE_ROOT, path) !== join('src', 'core', 'csv.ts')) {
          const text = await readFile(path, 'utf8');
          if (/from 'csv-stringify/.test(text) || /\.join\(','\)\s*\+?\s*'\\n'/.test(text)) offenders.push(relative(PACKAGE_ROOT, path));
        }
      }
    };
    await walk(join(PACKAGE_ROOT, 'src'));
    expect(offenders).toEqual([]);
  });
});
