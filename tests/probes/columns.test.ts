/** The streaming column reader agrees with csv-parse record for record, whatever the chunk size. */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { readColumns, readHeader, type CategoryColumn, type NumberColumn, type TextColumn } from '../../src/probes/columns.js';
import { SeededRandom } from '../../src/core/random.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-columns-'));
});

function randomCsv(rng: SeededRandom, rows: number, crlf: boolean): string {
  const pieces = ['a', 'b,c', 'quote "q"', 'multi\nline', ' padded ', 'é ü 日本', '', '=1+1'];
  const cell = (text: string) => (/[",\n\r]/.test(text) || rng.next() < 0.2 ? `"${text.replaceAll('"', '""')}"` : text);
  const nl = crlf ? '\r\n' : '\n';
  const lines = ['\uFEFFfile,group,"score",label'];
  for (let i = 0; i < rows; i++) {
    const score = rng.next() < 0.1 ? 'n/a' : (rng.next() * 10 - 5).toFixed(3);
    lines.push([cell(`img${i}.jpg`), cell(pieces[rng.int(pieces.length)]), score, cell(String(rng.int(3)))].join(','));
    if (rng.next() < 0.05) lines.push('');
  }
  return `${lines.join(nl)}${rng.next() < 0.5 ? nl : ''}`;
}

describe('readColumns', () => {
  for (const [chunk, crlf] of [
    [7, false],
    [13, true],
    [1 << 20, false],
  ] as const) {
    it(`matches csv-parse with ${chunk}-byte reads${crlf ? ' and CRLF' : ''}`, async () => {
      const text = randomCsv(new SeededRandom(chunk), 300, crlf);
      const path = join(dir, `t${chunk}.csv`);
      await writeFile(path, text);
      const table = await readColumns(path, { columns: { file: 'text', group: 'category', score: 'number', label: 'category' }, chunkBytes: chunk });
      const expected = parse(text, { columns: true, bom: true, skip_empty_lines: true, trim: true, info: true }) as { record: Record<string, string>; info: { lines: number } }[];
      expect(table.n).toBe(expected.length);
      expect(table.header).toEqual(['file', 'group', 'score', 'label']);
      const group = table.columns.group as CategoryColumn;
      const label = table.columns.label as CategoryColumn;
      const score = table.columns.score as NumberColumn;
      const file = table.columns.file as TextColumn;
      expected.forEach(({ record, info }, i) => {
        expect(group.levels[group.codes[i]]).toBe(record.group);
        expect(label.levels[label.codes[i]]).toBe(record.label);
        expect(file.values?.[i]).toBe(record.file);
        const n = Number(record.score);
        if (Number.isFinite(n) && record.score !== '') expect(score.values[i]).toBe(n);
        else expect(Number.isNaN(score.values[i])).toBe(true);
        expect(table.lines[i]).toBe(info.lines);
      });
      expect(table.badNumbers.map((b) => b.value)).toEqual(expected.filter(({ record }) => !Number.isFinite(Number(record.score)) || record.score === '').map(({ record }) => record.score));
      expect(table.sha256).toBe(createHash('sha256').update(await readFile(path)).digest('hex'));
    });
  }

  it('reads JSONL and names missing columns', async () => {
    const path = join(dir, 'p.jsonl');
    await writeFile(path, '{"g": "a", "s": 1}\n{"g": "b", "s": "2.5"}\n\n{"g": "a", "s": null}\n');
    const table = await readColumns(path, { columns: { g: 'category', s: 'number' } });
    expect([...(table.columns.s as NumberColumn).values]).toEqual([1, 2.5, Number.NaN]);
    expect(table.lines[2]).toBe(4);
    await expect(readColumns(path, { columns: { gender: 'category' }, what: 'Predictions file' })).rejects.toThrow(/Predictions file .*p\.jsonl has no column\(s\) gender; its columns are "g", "s"/);
    expect(await readHeader(path)).toEqual(['g', 's']);
  });

  it('drops text columns beyond the row limit and rejects an unclosed quote', async () => {
    const path = join(dir, 'many.csv');
    await writeFile(path, `file,g\n${Array.from({ length: 50 }, (_, i) => `f${i},a`).join('\n')}\n`);
    const table = await readColumns(path, { columns: { file: 'text', g: 'category' }, textLimit: 10 });
    expect((table.columns.file as TextColumn).values).toBeNull();
    const bad = join(dir, 'bad.csv');
    await writeFile(bad, 'g,s\n"a,1\nb,2\n');
    await expect(readColumns(bad, { columns: { g: 'category' } })).rejects.toThrow(/quoted field opened on line 2 is never closed/);
  });
});
