import { stringify } from 'csv-stringify/sync';

/**
 * Cells starting with these characters are evaluated as formulas by spreadsheet programs
 * (OWASP "CSV injection"); a leading apostrophe makes them plain text.
 */
const FORMULA_PREFIXES = new Set(['=', '+', '-', '@', '\t', '\r']);

export function neutralizeFormula(cell: string): string {
  return cell.length > 0 && FORMULA_PREFIXES.has(cell[0]) ? `'${cell}` : cell;
}

export type CsvCell = string | number | boolean | null | undefined;

/**
 * The one CSV writer of vigil: every string cell is neutralized against formula injection.
 * Numbers are written as numbers (a negative number is data, not a formula).
 */
export function toCsv(columns: readonly string[], rows: Iterable<readonly CsvCell[]>): string {
  const records: string[][] = [columns.map(neutralizeFormula)];
  for (const row of rows) {
    records.push(
      row.map((cell) => {
        if (cell === null || cell === undefined) return '';
        if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '';
        if (typeof cell === 'boolean') return cell ? 'true' : 'false';
        return neutralizeFormula(cell);
      }),
    );
  }
  return stringify(records);
}
