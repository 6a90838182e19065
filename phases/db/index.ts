// Not a phase: the database access shared by the phases that talk to a database (migrate, seed,
// verify). One small interface over better-sqlite3 and pg: run SQL, query rows,
// transactions, and the lock the history's tool takes. SQL is written with $1… placeholders and
// rewritten to ? for SQLite. Loads the driver it needs, nothing else.

import { setTimeout as sleep } from 'node:timers/promises';
import { lineAt, splitStatements } from './split.js';

export type Dialect = 'sqlite' | 'postgres';

/** A statement failed: where in the file, and the database's own message. */
export class StatementError extends Error {
  readonly line: number | undefined;
  constructor(message: string, line: number | undefined, options: { cause?: unknown } = {}) {
    super(message, options);
    this.line = line;
  }
}

export interface MigrationDb {
  readonly dialect: Dialect;
  /** Runs a whole file (several statements); a failure is a StatementError with its line. */
  execScript(sql: string): Promise<void>;
  exec(sql: string, params?: readonly unknown[]): Promise<void>;
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** BEGIN (IMMEDIATE on SQLite: the write lock is taken before history is read) … COMMIT. */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  /** Runs `work` in a transaction that is always rolled back (a preview); nested transactions become savepoints. */
  dryRun<T>(work: () => Promise<T>): Promise<T>;
  /** Holds a PostgreSQL advisory lock (waits, polling, until the signal aborts); no-op on SQLite. */
  lock(key: bigint, signal: AbortSignal): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

// better-sqlite3 is synchronous; the methods are async only to share the interface with pg.
/* eslint-disable @typescript-eslint/require-await */
/**
 * BEGIN … COMMIT, or a savepoint when a transaction is already open (a dry run, or the runner's own), so
 * an inner COMMIT never ends the outer transaction early.
 */
function nested(exec: (sql: string) => Promise<void>, isOpen: () => boolean) {
  let depth = 0;
  return async <T>(work: () => Promise<T>): Promise<T> => {
    const outer = !isOpen() && depth === 0;
    const name = `bootseq_sp_${depth}`;
    await exec(outer ? 'BEGIN' : `SAVEPOINT ${name}`);
    depth += 1;
    try {
      const result = await work();
      await exec(outer ? 'COMMIT' : `RELEASE ${name}`);
      return result;
    } catch (error) {
      await exec(outer ? 'ROLLBACK' : `ROLLBACK TO ${name}`).catch(() => undefined);
      if (!outer) await exec(`RELEASE ${name}`).catch(() => undefined);
      throw error;
    } finally {
      depth -= 1;
    }
  };
}

export async function openSqlite(file: string): Promise<MigrationDb> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file);
  // Concurrent migrators wait for each other's write lock instead of failing with SQLITE_BUSY.
  db.pragma('busy_timeout = 30000');
  db.pragma('journal_mode = WAL');
  db.defaultSafeIntegers(true);
  const toSqlite = (sql: string) => sql.replace(/\$\d+/g, '?');
  const bind = (params: readonly unknown[]) => params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
  return {
    dialect: 'sqlite',
    async execScript(sql) {
      for (const statement of splitStatements(sql)) {
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

export async function openPostgres(
  url: string,
  options: { signal: AbortSignal; waitMs: number; onRetry?: (problem: string) => void },
): Promise<MigrationDb> {
  const { default: pg } = await import('pg');
  // int8 (versions, lock keys) stays a string: sqlx versions exceed 2^53.
  const deadline = Date.now() + options.waitMs;
  let delayMs = 200;
  let client: InstanceType<typeof pg.Client>;
  for (;;) {
    client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      break;
    } catch (error) {
      await client.end().catch(() => undefined);
      const problem = (error as Error).message;
      if (Date.now() + delayMs > deadline || options.signal.aborted)
        throw new Error(`cannot connect: ${problem}`, { cause: error });
      options.onRetry?.(problem);
      await sleep(delayMs, undefined, { signal: options.signal }).catch(() => undefined);
      delayMs = Math.min(delayMs * 2, 2000);
    }
  }
  client.on('error', () => undefined);
  let inTransaction = false;
  return {
    dialect: 'postgres',
    async execScript(sql) {
      try {
        await client.query(sql);
      } catch (error) {
        const position = Number((error as { position?: string }).position);
        throw new StatementError(
          (error as Error).message,
          Number.isFinite(position) && position > 0 ? lineAt(sql, position - 1) : undefined,
          { cause: error },
        );
      }
    },
    async exec(sql, params = []) {
      await client.query(sql, params as unknown[]);
    },
    async query<T>(sql: string, params: readonly unknown[] = []) {
      return (await client.query(sql, params as unknown[])).rows as T[];
    },
    transaction: nested(
      async (sql) => {
        await client.query(sql);
      },
      () => inTransaction,
    ),
    dryRun: async (work) => {
      await client.query('BEGIN');
      inTransaction = true;
      try {
        return await work();
      } finally {
        inTransaction = false;
        await client.query('ROLLBACK').catch(() => undefined);
      }
    },
    async lock(key, signal) {
      for (;;) {
        const rows = (await client.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key.toString()]))
          .rows as { ok: boolean }[];
        if (rows[0]?.ok) break;
        signal.throwIfAborted();
        await sleep(200, undefined, { signal }).catch(() => undefined);
      }
      return async () => {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]);
      };
    },
    async close() {
      await client.end();
    },
  };
}

export { describePostgres, openStore } from './store.js';
