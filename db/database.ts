// The one interface the phases use to talk to a database, whichever engine holds it: run SQL, query
// rows, transactions (nested ones become savepoints) and the lock the history's tool takes. SQL is
// written with $1… placeholders; sqlite.ts rewrites them to ?. No driver is loaded here.

import { excerpt } from '../core/errors.js';

type Dialect = 'sqlite' | 'postgres';

/** How much of the database's own message a StatementError keeps: SQLite quotes the token it stopped at. */
const STATEMENT_MESSAGE_CHARS = 300;

/**
 * A statement failed: where in the file, and the database's own message, escaped and cut to a few
 * hundred characters (SQLite's `unrecognized token: "'…"` quotes the rest of a file with an
 * unterminated quote: 20 MB became 40 MB of log and of run report). The whole message stays in `cause`.
 */
export class StatementError extends Error {
  readonly line: number | undefined;
  constructor(message: string, line: number | undefined, options: { cause?: unknown } = {}) {
    super(excerpt(message, STATEMENT_MESSAGE_CHARS), options);
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

/**
 * BEGIN … COMMIT, or a savepoint when a transaction is already open (a dry run, or the runner's own), so
 * an inner COMMIT never ends the outer transaction early.
 */
export function nested(exec: (sql: string) => Promise<void>, isOpen: () => boolean) {
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

/**
 * An identifier quoted for SQL, the same in both dialects: `"name"`, an inner `"` doubled. The one
 * quoter: a name from a config or a history table never becomes SQL any other way.
 */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A schema-qualified name (`audit.flyway_schema_history`) quoted part by part; quotes already around a part are dropped. */
export function quoteName(name: string): string {
  return name
    .split('.')
    .map((part) => quoteIdent(part.replace(/^"|"$/g, '')))
    .join('.');
}

/**
 * Whether the database has a table of its own (SQLite: in `main`, its own `sqlite_*` tables aside).
 * PostgreSQL: in any schema but the system's (`database`: is there anything to lose), or only in the
 * current schema and among tables this user can see (`current-schema`: what Flyway asks before it
 * refuses a non-empty schema with no history table).
 */
export async function hasTables(
  db: MigrationDb,
  scope: 'database' | 'current-schema' = 'database',
): Promise<boolean> {
  const sql =
    db.dialect === 'sqlite'
      ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1"
      : scope === 'current-schema'
        ? "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' LIMIT 1"
        : "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' LIMIT 1";
  return (await db.query(sql)).length > 0;
}
