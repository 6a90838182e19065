// What lets the next Litestream continue a replica instead of starting over, kept from the moment the
// restore phase finds a database file in place, or a watched Litestream exits unasked (a crash, a
// stall's restart: phases/replicate/index.ts watch), until the new Litestream has proven its takeover
// (docs/litestream-v05.md H). SQLite deletes the WAL when its last connection closes; Litestream's own
// exit leaves it, but bootseq's connections (migrate, seed, verify, the `_litestream_seq` bump) would
// delete it on every boot. v0.3 then starts a new generation (a full snapshot to the replica), v0.5
// writes a full-database L0 file: a full upload per deploy either way. So one read-only connection per
// database is kept open: no bootseq connection is ever the last to close in between, and the WAL the
// last Litestream left is the one the next finds. Both drivers use it.
// It also holds a read transaction, renewed every few seconds, so that no checkpoint can reset the WAL
// while no Litestream reads it (the gap of a rolling deploy, the boot before the takeover): an app
// that writes then would otherwise have its frames checkpointed into the database and the WAL started
// over, and Litestream v0.5, finding the WAL's salt changed but its last page unchanged, continues from
// its old offset in the new WAL: those frames never reach the replica and its restore is corrupt
// (measured: docs/litestream-v05.md K). A reader keeps every frame since its snapshot in the WAL (a
// checkpoint copies only up to the oldest reader, and a writer restarts the WAL only when no reader
// holds a mark in it). Not quite always: a renewal that begins when the WAL is wholly copied reads
// the database file alone (read-mark 0) and holds no mark; that takes a checkpoint that copied
// everything and then no commit until the next renewal: rare, not impossible (docs K).

import { bumpLitestreamSeq } from '../sqlite.js';
import { openSqliteFile, type SqliteFile } from '../sqlite-file.js';
import type { Handoff } from './types.js';

/** How often the kept read transaction moves to a newer snapshot (so the WAL does not grow unchecked). */
const RENEW_MS = 2000;

/** One database's keeper: a read-only connection in an open read transaction, renewed without a gap. */
interface Keeper {
  close(): void;
}

/** The keeper per database path, from keepLineage until a prepareTakeover adopts it. */
const kept = new Map<string, Promise<Keeper | undefined>>();

/**
 * A read-only connection inside a read transaction that has read (so it holds its WAL snapshot). Not
 * in a transaction when the database is not in WAL mode: there a reader's lock would block every
 * writer (migrate, the bump), and there is no WAL to keep (verify then refuses the file anyway).
 */
async function openReader(dbPath: string): Promise<SqliteFile> {
  const db = await openSqliteFile(dbPath, { readonly: true });
  try {
    const wal = String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    if (wal) db.exec('BEGIN');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function closeReader(db: SqliteFile): void {
  try {
    if (db.inTransaction) db.exec('COMMIT');
  } finally {
    db.close();
  }
}

/**
 * Opens a keeper: one reader now, and every RENEW_MS a new reader opened before the old one closes,
 * so that some read transaction of bootseq's is open at every moment. Throws what SQLite says.
 */
async function openKeeper(dbPath: string): Promise<Keeper> {
  let current = await openReader(dbPath);
  let closed = false;
  let renewing = false;
  const timer = setInterval(() => {
    if (renewing) return;
    renewing = true;
    openReader(dbPath).then(
      (next) => {
        renewing = false;
        if (closed) return closeReader(next);
        const old = current;
        current = next;
        closeReader(old);
      },
      () => {
        renewing = false; // keep the older snapshot: still a reader
      },
    );
  }, RENEW_MS).unref();
  return {
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      closeReader(current);
    },
  };
}

/**
 * Opens the keeper of a database found in place. Never fails the boot: a file SQLite cannot read is
 * verify's to report.
 */
export function keepLineage(dbPath: string): Promise<void> {
  if (!kept.has(dbPath))
    kept.set(
      dbPath,
      openKeeper(dbPath).catch(() => undefined),
    );
  return kept.get(dbPath)!.then(() => undefined);
}

export async function prepareTakeover(dbPath: string): Promise<Handoff> {
  // The keeper the restore phase opened, else one opened now (a restart while the app runs).
  const keeper = await kept.get(dbPath);
  kept.delete(dbPath);
  const held = keeper ?? (await openKeeper(dbPath));
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.close();
  };
  try {
    const db = await openSqliteFile(dbPath);
    try {
      return { bumped: bumpLitestreamSeq(db), release };
    } finally {
      db.close(); // not the last connection: `held` is open, so the WAL stays
    }
  } catch (error) {
    // Still held: at a restart the app's writes give Litestream something to ship, and the keeper
    // must stay until its takeover (the caller releases it; at boot at once, failing the boot).
    return { bumped: false, release, failed: error as Error };
  }
}
