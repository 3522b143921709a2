/**
 * The observation cache's storage: one SQLite database per cache folder (`cache.sqlite`, through
 * better-sqlite3), instead of one small file per image (10k images made 10,000 files, 41 MB on
 * disk for 2.9 MB of data). WAL mode and a busy timeout make it safe for concurrent runs sharing a
 * folder. Every entry carries a checksum over its key and contents, so an entry rewritten in place
 * (a flipped verdict through edited model outputs) is detected, dropped and recomputed. An optional
 * size cap evicts the least recently used entries.
 *
 * The checksum detects corruption and rewrites by anything that does not also recompute it; it is
 * not a signature (anyone who can write the cache can read how it is made). Keep the cache folder
 * writable only by the accounts that run vigil.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, VigilInputError } from '../core/errors.js';
import { sha256Hex } from '../core/files.js';

export const CACHE_DB_FILE = 'cache.sqlite';
const SCHEMA_VERSION = 1;

export interface StoredEntry {
  provider: string;
  values: Float32Array;
}

export interface CacheStats {
  path: string;
  entries: number;
  /** Bytes of stored values (the data). */
  dataBytes: number;
  /** Size of the database file(s) on disk. */
  fileBytes: number;
  models: { modelSha256: string; output: string; entries: number; dataBytes: number }[];
}

export interface VerifyReport {
  checked: number;
  corrupt: number;
  /** Keys of corrupt entries (removed when `repair`). */
  corruptKeys: string[];
}

function checksumOf(key: string, provider: string, length: number, body: Uint8Array): string {
  return sha256Hex(Buffer.concat([Buffer.from(`${key}\n${provider}\n${length}\n`), body]));
}

interface Row {
  key: string;
  provider: string;
  length: number;
  body: Buffer;
  checksum: string;
}

/** One open cache database; shared by every ObservationCache of the process on the same folder. */
export class CacheStore {
  private readonly db: Database.Database;
  /** The statements every get and set runs, prepared once (get and set run once per image). */
  private readonly statements: { select: Database.Statement; remove: Database.Statement; touch: Database.Statement; upsert: Database.Statement };
  private writesSinceCapCheck = 0;
  readonly path: string;

  constructor(
    readonly dir: string,
    /** Largest total of stored values in bytes; least recently used entries go beyond it. */
    private readonly maxBytes: number | undefined = envMaxBytes(),
  ) {
    this.path = join(dir, CACHE_DB_FILE);
    try {
      mkdirSync(dir, { recursive: true });
      this.db = new Database(this.path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 10000');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS entries (
          key TEXT PRIMARY KEY,
          model TEXT NOT NULL,
          output TEXT NOT NULL,
          provider TEXT NOT NULL,
          length INTEGER NOT NULL,
          body BLOB NOT NULL,
          checksum TEXT NOT NULL,
          last_used INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS entries_last_used ON entries(last_used);
      `);
      this.db.prepare('INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)').run('schema', String(SCHEMA_VERSION));
      this.statements = {
        select: this.db.prepare('SELECT key, provider, length, body, checksum FROM entries WHERE key = ?'),
        remove: this.db.prepare('DELETE FROM entries WHERE key = ?'),
        touch: this.db.prepare('UPDATE entries SET last_used = ? WHERE key = ?'),
        upsert: this.db.prepare('INSERT OR REPLACE INTO entries (key, model, output, provider, length, body, checksum, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      };
    } catch (error) {
      throw new VigilInputError(
        `Cannot open the observation cache ${this.path} (${errorMessage(error)}); choose another with VIGIL_CACHE_DIR or disable it`,
        { subject: this.path, cause: error },
      );
    }
  }

  /** The entry when present and intact; a damaged or rewritten one is deleted and reported as a miss. */
  get(key: string): StoredEntry | undefined {
    const row = this.statements.select.get(key) as Row | undefined;
    if (!row) return undefined;
    if (!this.intact(row)) {
      this.statements.remove.run(key);
      return undefined;
    }
    this.statements.touch.run(Date.now(), key);
    // Copy into an aligned buffer: the blob need not start at a multiple of 4.
    const values = new Float32Array(row.length);
    new Uint8Array(values.buffer).set(row.body);
    return { provider: row.provider, values };
  }

  set(key: string, scope: { model: string; output: string }, entry: StoredEntry): void {
    const body = Buffer.from(entry.values.buffer, entry.values.byteOffset, entry.values.byteLength);
    try {
      this.statements.upsert.run(key, scope.model, scope.output, entry.provider, entry.values.length, body, checksumOf(key, entry.provider, entry.values.length, body), Date.now());
    } catch (error) {
      throw new VigilInputError(
        `Cannot write the observation cache ${this.path} (${errorMessage(error)}); choose another with VIGIL_CACHE_DIR or disable it`,
        { subject: this.path, cause: error },
      );
    }
    if (this.maxBytes !== undefined && ++this.writesSinceCapCheck >= 16) {
      this.writesSinceCapCheck = 0;
      this.evictTo(this.maxBytes);
    }
  }

  private intact(row: Row): boolean {
    return Buffer.isBuffer(row.body) && row.body.length === row.length * 4 && row.checksum === checksumOf(row.key, row.provider, row.length, row.body);
  }

  /** Checks every entry's checksum; with `repair`, deletes the damaged ones. */
  verify(options: { repair?: boolean } = {}): VerifyReport {
    const report: VerifyReport = { checked: 0, corrupt: 0, corruptKeys: [] };
    for (const row of this.db.prepare('SELECT key, provider, length, body, checksum FROM entries').iterate() as Iterable<Row>) {
      report.checked++;
      if (!this.intact(row)) {
        report.corrupt++;
        report.corruptKeys.push(row.key);
      }
    }
    if (options.repair && report.corruptKeys.length > 0) {
      this.db.transaction((keys: string[]) => keys.forEach((key) => this.statements.remove.run(key)))(report.corruptKeys);
    }
    return report;
  }

  /** Deletes least recently used entries until the stored values total at most `maxBytes`; returns how many went. */
  evictTo(maxBytes: number): number {
    let total = (this.db.prepare('SELECT COALESCE(SUM(length(body)), 0) AS total FROM entries').get() as { total: number }).total;
    if (total <= maxBytes) return 0;
    let removed = 0;
    const oldest = this.db.prepare('SELECT key, length(body) AS bytes FROM entries ORDER BY last_used ASC').iterate() as Iterable<{ key: string; bytes: number }>;
    const doomed: string[] = [];
    for (const row of oldest) {
      if (total <= maxBytes) break;
      doomed.push(row.key);
      total -= row.bytes;
    }
    this.db.transaction(() => doomed.forEach((key) => (removed += this.statements.remove.run(key).changes)))();
    return removed;
  }

  /** Deletes the entries of one model (by its sha256), or those unused for `olderThanMs`. */
  prune(options: { modelSha256?: string; olderThanMs?: number; maxBytes?: number }): number {
    let removed = 0;
    if (options.modelSha256 !== undefined) removed += this.db.prepare('DELETE FROM entries WHERE model = ?').run(options.modelSha256).changes;
    if (options.olderThanMs !== undefined) removed += this.db.prepare('DELETE FROM entries WHERE last_used < ?').run(Date.now() - options.olderThanMs).changes;
    if (options.maxBytes !== undefined) removed += this.evictTo(options.maxBytes);
    this.db.exec('VACUUM');
    return removed;
  }

  stats(fileBytes: number): CacheStats {
    const totals = this.db.prepare('SELECT COUNT(*) AS entries, COALESCE(SUM(length(body)), 0) AS bytes FROM entries').get() as { entries: number; bytes: number };
    const models = this.db
      .prepare('SELECT model, output, COUNT(*) AS entries, SUM(length(body)) AS bytes FROM entries GROUP BY model, output ORDER BY model, output')
      .all() as { model: string; output: string; entries: number; bytes: number }[];
    return {
      path: this.path,
      entries: totals.entries,
      dataBytes: totals.bytes,
      fileBytes,
      models: models.map((m) => ({ modelSha256: m.model, output: m.output, entries: m.entries, dataBytes: m.bytes })),
    };
  }

  /** For tests and `vigil cache`: runs raw SQL on the store. */
  get database(): Database.Database {
    return this.db;
  }

  close(): void {
    this.db.close();
  }
}

/** VIGIL_CACHE_MAX_MB: the optional size cap of every cache this process opens. */
function envMaxBytes(): number | undefined {
  const text = process.env.VIGIL_CACHE_MAX_MB;
  if (text === undefined || text === '') return undefined;
  const mb = Number(text);
  if (!Number.isFinite(mb) || mb <= 0) {
    throw new VigilInputError(`Expected a positive number of MiB for VIGIL_CACHE_MAX_MB but received ${JSON.stringify(text)}`, { subject: 'VIGIL_CACHE_MAX_MB' });
  }
  return Math.floor(mb * 2 ** 20);
}

const open = new Map<string, CacheStore>();

/** The store of a cache folder, opened once per process. */
export function cacheStore(dir: string): CacheStore {
  let store = open.get(dir);
  if (!store) {
    store = new CacheStore(dir);
    open.set(dir, store);
  }
  return store;
}
