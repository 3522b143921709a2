/**
 * Streaming reader of large tables (CSV, or JSONL with one object per line) into columns: category
 * columns become dictionary codes (Int32Array + levels), number columns Float64Array, so memory is
 * bounded by the columns used, not by per-row objects. Text columns (file names) are kept only up
 * to a row limit. Progress is reported in bytes while reading. CSV follows RFC 4180 (quoted fields,
 * doubled quotes, CRLF); unquoted values are trimmed (quoted ones kept as written), as csv-parse's
 * `trim` does for the small-file readers.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { VigilInputError, errorMessage } from '../core/errors.js';
import { describeColumns } from './formats.js';

export type ColumnKind = 'category' | 'number' | 'text';

export interface CategoryColumn {
  kind: 'category';
  codes: Int32Array;
  /** Distinct values in order of first appearance; codes index them. */
  levels: string[];
}

export interface NumberColumn {
  kind: 'number';
  /** NaN where the text is empty or not a finite number. */
  values: Float64Array;
}

export interface TextColumn {
  kind: 'text';
  /** The values, or null once the table outgrew `textLimit` rows. */
  values: string[] | null;
}

export type Column = CategoryColumn | NumberColumn | TextColumn;

export interface ColumnTable {
  path: string;
  /** Every column name in the source. */
  header: string[];
  n: number;
  /** Source line (1-based, the header is line 1 for CSV) where each row ends. */
  lines: Int32Array;
  columns: Record<string, Column>;
  /** Rows of the source whose text was not a number where one was asked for (value kept for the message). */
  badNumbers: { row: number; column: string; value: string }[];
  /** sha256 of the file's bytes, computed while reading. */
  sha256: string;
}

export interface ReadColumnsOptions {
  /** Columns to keep, with how to store them; the rest are skipped. */
  columns: Record<string, ColumnKind>;
  /** Text columns are dropped (values null) beyond this many rows (default 200,000). */
  textLimit?: number;
  /** Called as bytes are read (for a progress bar). */
  onBytes?: (bytesRead: number, totalBytes: number) => void;
  /** How the file is named in messages (default "File"), e.g. "Predictions file". */
  what?: string;
  /** Read size (default 1 MiB; tests use tiny chunks to exercise records split across reads). */
  chunkBytes?: number;
}

class Growable<T extends Int32Array | Float64Array> {
  data: T;
  length = 0;
  constructor(private readonly make: (n: number) => T) {
    this.data = make(1 << 16);
  }
  push(value: number): void {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
  done(): T {
    return this.data.slice(0, this.length) as T;
  }
}

interface Sink {
  header(names: string[]): void;
  /** Whether field position j is read (others are skipped undecoded). */
  wants(j: number): boolean;
  row(fields: (string | undefined)[], line: number): void;
}

/** Reads the needed columns of a CSV or JSONL file; a missing column is an error naming the file's columns. */
export async function readColumns(path: string, options: ReadColumnsOptions): Promise<ColumnTable> {
  let totalBytes: number;
  try {
    totalBytes = (await stat(path)).size;
  } catch (error) {
    throw new VigilInputError(`${path} cannot be read: ${errorMessage(error)}`, { subject: path });
  }
  const wanted = Object.keys(options.columns);
  const textLimit = options.textLimit ?? 200_000;
  const lines = new Growable((n) => new Int32Array(n));
  const codes = new Map<string, { grow: Growable<Int32Array>; index: Map<string, number>; levels: string[] }>();
  const numbers = new Map<string, Growable<Float64Array>>();
  const texts = new Map<string, string[] | null>();
  const badNumbers: ColumnTable['badNumbers'] = [];
  let header: string[] = [];
  let positions: number[] = [];
  let handlers: ((text: string) => void)[] = [];
  let n = 0;
  const sink: Sink = {
    header(names) {
      header = names;
      const missing = wanted.filter((c) => !names.includes(c));
      if (missing.length > 0) throw new VigilInputError(`${options.what ?? 'File'} ${path} has no column(s) ${missing.join(', ')}; its columns are ${describeColumns(names)}`, { subject: path });
      positions = wanted.map((c) => names.indexOf(c));
      const duplicate = names.find((name, j) => names.indexOf(name) !== j && wanted.includes(name));
      if (duplicate !== undefined) throw new VigilInputError(`${path} has the column "${duplicate}" twice; expected unique column names`, { subject: path });
      handlers = wanted.map((name): ((text: string) => void) => {
        const kind = options.columns[name];
        if (kind === 'category') {
          const c = { grow: new Growable((k) => new Int32Array(k)), index: new Map<string, number>(), levels: [] as string[] };
          codes.set(name, c);
          return (text) => {
            let code = c.index.get(text);
            if (code === undefined) {
              code = c.levels.length;
              c.index.set(text, code);
              c.levels.push(text);
            }
            c.grow.push(code);
          };
        }
        if (kind === 'number') {
          const grow = new Growable((k) => new Float64Array(k));
          numbers.set(name, grow);
          return (text) => {
            const value = text === '' ? Number.NaN : Number(text);
            if (Number.isFinite(value)) grow.push(value);
            else {
              badNumbers.push({ row: n, column: name, value: text });
              grow.push(Number.NaN);
            }
          };
        }
        texts.set(name, []);
        return (text) => {
          const list = texts.get(name);
          if (!list) return;
          if (n < textLimit) list.push(text);
          else texts.set(name, null);
        };
      });
    },
    wants: (j) => positions.includes(j),
    row(fields, line) {
      // One handler per wanted column, resolved once at the header (no per-field map lookups).
      for (let j = 0; j < handlers.length; j++) handlers[j](fields[positions[j]] ?? '');
      lines.push(line);
      n++;
    },
  };
  const hash = createHash('sha256');
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  try {
    await streamTable(path, sink, hash, chunkBytes, (b) => options.onBytes?.(b, totalBytes));
  } catch (error) {
    if (error instanceof VigilInputError) throw error;
    throw new VigilInputError(`${path} cannot be read: ${errorMessage(error)}`, { subject: path });
  }
  if (header.length === 0) throw new VigilInputError(`${path} is empty (expected a header row)`, { subject: path });
  if (n === 0) throw new VigilInputError(`${path} has no rows`, { subject: path });
  const columns: Record<string, Column> = {};
  for (const [name, c] of codes) columns[name] = { kind: 'category', codes: c.grow.done(), levels: c.levels };
  for (const [name, g] of numbers) columns[name] = { kind: 'number', values: g.done() };
  for (const [name, list] of texts) columns[name] = { kind: 'text', values: list };
  return { path, header, n, lines: lines.done(), columns, badNumbers, sha256: hash.digest('hex') };
}

/** Streams a JSONL file (.jsonl, .ndjson) or else a CSV into the sink. */
function streamTable(path: string, sink: Sink, hash: Hash, chunkBytes: number, onBytes: (bytes: number) => void): Promise<void> {
  const stream = path.endsWith('.jsonl') || path.endsWith('.ndjson') ? streamJsonl : streamCsv;
  return stream(path, sink, hash, chunkBytes, onBytes);
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/** RFC 4180 CSV, chunk by chunk: complete records are parsed, the incomplete tail carries over. */
async function streamCsv(path: string, sink: Sink, hash: Hash, chunkBytes: number, onBytes: (bytes: number) => void): Promise<void> {
  let carry: Buffer | null = null;
  let bytes = 0;
  let line = 1;
  let first = true;
  /** Field positions to decode (null until the header is read: every field). */
  let keep: boolean[] | null = null;
  const fields: (string | undefined)[] = [];
  const stream = createReadStream(path, { highWaterMark: chunkBytes });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
    let buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    if (first) {
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
      first = false;
    }
    const consumed = parseRecords(buf, false);
    carry = consumed < buf.length ? Buffer.from(buf.subarray(consumed)) : null;
    onBytes(bytes);
  }
  if (carry && carry.length > 0) parseRecords(carry, true);

  /** Parses the complete records of buf (all of it when final); returns the offset after the last. */
  function parseRecords(buf: Buffer, final: boolean): number {
    const len = buf.length;
    let start = 0;
    while (start < len) {
      fields.length = 0;
      let pos = start;
      let inner = 0;
      for (;;) {
        const wantField = keep === null || keep[fields.length] === true;
        let text: string | undefined;
        if (pos < len && buf[pos] === QUOTE) {
          const open = pos;
          let q = pos + 1;
          let doubled = false;
          for (;;) {
            if (q >= len) {
              if (!final) return start;
              throw new VigilInputError(`${path}: a quoted field opened on line ${line} is never closed`, { subject: path });
            }
            const byte = buf[q];
            if (byte === QUOTE) {
              if (q + 1 >= len && !final) return start;
              if (q + 1 < len && buf[q + 1] === QUOTE) {
                doubled = true;
                q += 2;
                continue;
              }
              break;
            }
            if (byte === LF) inner++;
            q++;
          }
          const closing = q;
          pos = q + 1;
          const after = pos;
          while (pos < len && buf[pos] !== COMMA && buf[pos] !== LF) pos++;
          if (pos >= len && !final) return start;
          if (wantField) {
            text = buf.toString('utf8', open + 1, closing);
            if (doubled) text = text.replaceAll('""', '"');
            // Text after the closing quote up to the delimiter is kept (lenient, as csv-parse's relax_quotes).
            let e = pos;
            if (e > after && buf[e - 1] === CR) e--;
            if (e > after) text += buf.toString('utf8', after, e).trimEnd();
          }
        } else {
          const s = pos;
          while (pos < len && buf[pos] !== COMMA && buf[pos] !== LF) pos++;
          if (pos >= len && !final) return start;
          if (wantField) {
            let e = pos;
            if (e > s && buf[e - 1] === CR) e--;
            text = buf.toString('utf8', s, e).trim();
          }
        }
        fields.push(text);
        if (pos >= len) break;
        if (buf[pos] === LF) {
          pos++;
          break;
        }
        pos++; // the comma
      }
      const recordLine = line + inner;
      line = recordLine + 1;
      start = pos;
      if (fields.length === 1 && (fields[0] ?? '').trim() === '') continue; // an empty line
      if (keep === null) {
        const names = fields.map((f) => (f ?? '').trim());
        sink.header(names);
        keep = names.map((_, j) => sink.wants(j));
      } else sink.row(fields, recordLine);
    }
    return start;
  }
}

/** JSONL: one JSON object per line; the header is the keys of the first object. */
async function streamJsonl(path: string, sink: Sink, hash: Hash, chunkBytes: number, onBytes: (bytes: number) => void): Promise<void> {
  let carry = '';
  let bytes = 0;
  let line = 0;
  let keys: string[] | null = null;
  const handle = (text: string) => {
    line++;
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new VigilInputError(`${path} line ${line}: not valid JSON: ${errorMessage(error)}`, { subject: path });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new VigilInputError(`${path} line ${line}: expected a JSON object per line`, { subject: path });
    const record = value as Record<string, unknown>;
    if (keys === null) {
      keys = Object.keys(record);
      sink.header(keys);
    }
    sink.row(
      keys.map((k) => {
        const v = record[k];
        return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      }),
      line,
    );
  };
  const stream = createReadStream(path, { highWaterMark: chunkBytes });
  const decoder = new TextDecoder('utf-8');
  for await (const raw of stream as AsyncIterable<Buffer>) {
    bytes += raw.length;
    hash.update(raw);
    const chunk = decoder.decode(raw, { stream: true });
    const text = carry + chunk;
    const parts = text.split('\n');
    carry = parts.pop() ?? '';
    for (const part of parts) handle(part.endsWith('\r') ? part.slice(0, -1) : part);
    onBytes(bytes);
  }
  if (carry !== '') handle(carry);
}

/** The header row of a CSV (or the keys of a JSONL file's first object). */
export async function readHeader(path: string): Promise<string[]> {
  let header: string[] = [];
  const stop = new Error('header read');
  const sink: Sink = {
    header(names) {
      header = names;
      throw stop;
    },
    wants: () => false,
    row() {},
  };
  const hash = createHash('sha256');
  try {
    await streamTable(path, sink, hash, 1 << 16, () => {});
  } catch (error) {
    if (error !== stop) throw error instanceof VigilInputError ? error : new VigilInputError(`${path} cannot be read: ${errorMessage(error)}`, { subject: path });
  }
  return header;
}
