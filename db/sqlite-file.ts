// The one way bootseq opens a SQLite file: better-sqlite3 loads here, on first use (never at start-up:
// docs/architecture.md "one door per dependency"), and the busy timeout is chosen here, once. Sets no
// journal mode: a caller that writes sets WAL itself, and verify's `wal` gate must see the file as it is.

/** An open better-sqlite3 connection: close it in `finally`. */
export type SqliteFile = import('better-sqlite3').Database;

/** A prepared statement on a SqliteFile. */
export type SqliteStatement = import('better-sqlite3').Statement<unknown[]>;

/**
 * How long a connection waits for a lock another holds before SQLITE_BUSY. Litestream takes the write
 * lock briefly, around each checkpoint and its `_litestream_seq` write, and a writer beside it must
 * outwait that (docs/litestream.md rule 5: at least 5 s); a migrator must also outwait another
 * connection's transaction (an app still writing during a rolling deploy, a second migrator). 30 s is
 * long enough for both, and short enough that a lock nobody gives back fails the boot with SQLite's
 * own `database is locked`.
 */
const BUSY_TIMEOUT_MS = 30_000;

export interface SqliteFileOptions {
  /** Opens it read-only (SQLITE_OPEN_READONLY): nothing written, not even the journal mode. */
  readonly readonly?: boolean;
  /** Creates the file when it is missing; otherwise a missing file throws. @default false */
  readonly create?: boolean;
  /**
   * SQLITE_BUSY at once instead of waiting: only for a try-lock, where a lock held by another is the
   * answer (db/lease.ts: a lease another bootseq holds is refused at once, and waited for by polling).
   * @default false
   */
  readonly failIfBusy?: boolean;
}

/** Opens `file` with better-sqlite3; throws what SQLite says (no such file, not a database, locked). */
export async function openSqliteFile(file: string, options: SqliteFileOptions = {}): Promise<SqliteFile> {
  const { default: Database } = await import('better-sqlite3');
  return new Database(file, {
    readonly: options.readonly ?? false,
    fileMustExist: !(options.create ?? false),
    timeout: options.failIfBusy ? 0 : BUSY_TIMEOUT_MS,
  });
}
