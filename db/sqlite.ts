// MigrationDb over better-sqlite3 (loaded on first use). Synchronous underneath; the methods are
// async only to share the interface with pg.

import { nested, StatementError, type MigrationDb } from './database.js';
import { openSqliteFile, type SqliteFile } from './sqlite-file.js';
import { splitStatements } from './split.js';

/* eslint-disable @typescript-eslint/require-await */
/** How long a script may run between two looks at the event loop (signals, the abort signal). */
const YIELD_MS = 50;

/**
 * `signal`: the run's; a long script (a data migration, a schema dump) stops between statements when
 * it aborts, and the event loop gets a turn every YIELD_MS so a SIGTERM is heard at all.
 */
export async function openSqlite(file: string, options: { signal?: AbortSignal } = {}): Promise<MigrationDb> {
  // Concurrent migrators wait for each other's write lock (the opener's busy timeout) instead of
  // failing with SQLITE_BUSY.
  const db = await openSqliteFile(file, { create: true });
  db.pragma('journal_mode = WAL');
  db.defaultSafeIntegers(true);
  const toSqlite = (sql: string) => sql.replace(/\$\d+/g, '?');
  const bind = (params: readonly unknown[]) => params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
  return {
    dialect: 'sqlite',
    async execScript(sql) {
      let turn = Date.now();
      for (const statement of splitStatements(sql)) {
        if (Date.now() - turn >= YIELD_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          options.signal?.throwIfAborted();
          turn = Date.now();
        }
        try {
          db.exec(statement.text);
        } catch (error) {
          throw new StatementError((error as Error).message, statement.line, { cause: error });
        }
      }
    },
    async exec(sql, params = []) {
      if (params.length === 0) db.exec(toSqlite(sql));
      else db.prepare(toSqlite(sql)).run(...bind(params));
    },
    async query<T>(sql: string, params: readonly unknown[] = []) {
      return db.prepare(toSqlite(sql)).all(...bind(params)) as T[];
    },
    transaction: nested(
      async (sql) => {
        db.exec(sql === 'BEGIN' ? 'BEGIN IMMEDIATE' : sql);
      },
      () => db.inTransaction,
    ),
    dryRun: async (work) => {
      // IMMEDIATE: the preview may write (CREATE TABLE); take the write lock, waiting for it, up front.
      db.exec('BEGIN IMMEDIATE');
      try {
        return await work();
      } finally {
        if (db.inTransaction) db.exec('ROLLBACK');
      }
    },
    async lock() {
      return async () => {};
    },
    async close() {
      db.close();
    },
  };
}

/* eslint-enable @typescript-eslint/require-await */

/**
 * `PRAGMA integrity_check` of a file: ok, or its first `rows` complaints, or why the file cannot be
 * opened as a database at all (`opened: false`). Opens it only for the check.
 */
export async function checkIntegrity(
  file: string,
  options: { readonly readonly?: boolean; readonly rows?: number } = {},
): Promise<
  { readonly ok: true } | { readonly ok: false; readonly opened: boolean; readonly detail: string }
> {
  let db: SqliteFile | undefined;
  try {
    db = await openSqliteFile(file, { readonly: options.readonly ?? false });
    const rows = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
    if (rows.length === 1 && rows[0] === 'ok') return { ok: true };
    return { ok: false, opened: true, detail: rows.slice(0, options.rows ?? 5).join('; ') };
  } catch (error) {
    return { ok: false, opened: db !== undefined, detail: (error as Error).message };
  } finally {
    db?.close();
  }
}

/**
 * Bumps Litestream's own `_litestream_seq` row, over the caller's connection, with the statement Litestream itself runs after a
 * checkpoint, so that the Litestream started next has a change to ship and its `wal segment written`
 * line proves that this very process replicates the database (docs/litestream.md Q9). False when the
 * table is not there (never replicated: Litestream snapshots it instead). Throws what SQLite says
 * (a read-only file system, a locked database).
 */
export function bumpLitestreamSeq(db: SqliteFile): boolean {
  const exists = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_litestream_seq'")
    .get();
  if (exists === undefined) return false;
  db.exec('INSERT INTO _litestream_seq (id, seq) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET seq = seq + 1');
  return true;
}
