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
