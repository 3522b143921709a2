import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { neutralizeFormula, toCsv } from '../../src/core/csv.js';

describe('toCsv', () => {
  it('neutralizes every formula prefix in string cells and headers', () => {
    const csv = toCsv(['=cmd', 'file'], [
      ['=HYPERLINK("http://x")', '+1'],
      ['-2+3', '@SUM(A1)'],
      ['\tTAB', 'plain'],
    ]);
    const rows = parse(csv) as string[][];
    expect(rows[0]).toEqual(["'=cmd", 'file']);
    expect(rows[1]).toEqual(['\'=HYPERLINK("http://x")', "'+1"]);
    expect(rows[2]).toEqual(["'-2+3", "'@SUM(A1)"]);
    expect(rows[3]).toEqual(["'\tTAB", 'plain']);
  });

  it('keeps numbers as numbers, including negative ones, and blanks missing values', () => {
    const rows = parse(toCsv(['a', 'b', 'c', 'd'], [[-0.5, null, true, Number.NaN]])) as string[][];
    expect(rows[1]).toEqual(['-0.5', '', 'true', '']);
  });

  it('quotes embedded commas, quotes and newlines so a hostile cell stays one cell', () => {
    const hostile = 'a,"b"\nc';
    const rows = parse(toCsv(['x'], [[hostile]])) as string[][];
    expect(rows).toHaveLength(2);
    expect(rows[1][0]).toBe(hostile);
  });

  it('leaves ordinary strings untouched', () => {
    expect(neutralizeFormula('photo.jpg')).toBe('photo.jpg');
    expect(neutralizeFormula('')).toBe('');
  });
});
