// What lets the next Litestream continue a replica instead of starting over, kept from the moment the
// restore phase finds a database file in place until the new Litestream has proven its takeover
// (docs/litestream-v05.md H). SQLite deletes the WAL when its last connection closes; Litestream's own
// exit leaves it, but bootseq's connections (migrate, seed, verify, the `_litestream_seq` bump) would
// delete it on every boot. v0.3 then starts a new generation (a full snapshot to the replica), v0.5
// writes a full-database L0 file: a full upload per deploy either way. So one read-only connection per
// database is kept open: no bootseq connection is ever the last to close in between, and the WAL the
// last Litestream left is the one the next finds. Both drivers use it.

import { bumpLitestreamSeq } from '../sqlite.js';
import { openSqliteFile, type SqliteFile } from '../sqlite-file.js';
import type { Handoff } from './types.js';

/** The connection kept open per database path from keepLineage until a prepareTakeover adopts it. */
const kept = new Map<string, Promise<SqliteFile | undefined>>();

/**
 * Opens the keeper connection, and reads once through it: in WAL mode a connection holds its shared
 * lock on the database file from its first read until it closes, and that lock is what stops another
 * connection's close from checkpointing and deleting the WAL. Never fails the boot: a file SQLite
 * cannot read is verify's to report.
 */
export function keepLineage(dbPath: string): Promise<void> {
  if (!kept.has(dbPath))
    kept.set(
      dbPath,
      openSqliteFile(dbPath, { readonly: true }).then(
        (db) => {
          try {
            db.prepare('SELECT count(*) FROM sqlite_master').get();
            return db;
          } catch {
            db.close();
            return undefined;
          }
        },
        () => undefined,
      ),
    );
  return kept.get(dbPath)!.then(() => undefined);
}

export async function prepareTakeover(dbPath: string): Promise<Handoff> {
  // The keeper the restore phase opened, else one opened now (a restart while the app runs).
  const keeper = await kept.get(dbPath);
  kept.delete(dbPath);
  const held = keeper ?? (await openSqliteFile(dbPath, { readonly: true }));
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.close();
  };
  try {
    held.prepare('SELECT count(*) FROM sqlite_master').get();
    const db = await openSqliteFile(dbPath);
    try {
      return { bumped: bumpLitestreamSeq(db), release };
    } finally {
      db.close(); // not the last connection: `held` is open, so the WAL stays
    }
  } catch (error) {
    release();
    throw error;
  }
}
