// Export (docs/sync.md): the change log after an LSN as a change file, streamed (issue 28 item 4):
// the rows are read twice inside one read transaction (one snapshot), once for the header's count and
// hash and once to write them, so no file is ever held in memory. A client exports its own changes; a
// main exports its own and those it applied from clients (so that every client converges through it),
// never a change back to the node it came from. The default start is what sync_state says the peer
// has been sent; a start beyond the end of the log is refused (it would record as sent what never was).

import fs from 'node:fs';
import type { Db } from './capture.js';
import { entryLine, headerLine, type Entry, type Meta } from './format.js';
import { lineHash } from './reader.js';

export interface ExportOptions {
  /** The node the file is for; a client's default is the main it imported from. */
  readonly to?: string | undefined;
  readonly fromLsn?: number | undefined;
}

/** Refused before anything is written or recorded (the CLI's exit 2). */
export class ExportError extends Error {}

export interface Exported {
  readonly meta: Omit<Meta, 'format' | 'major'>;
  /** Writes the file: header, then the entries, through `write` in chunks. */
  writeTo(write: (chunk: string) => void): void;
  /** The whole file as text (tests). */
  text(): string;
  /** Records in sync_state that the peer has been sent up to `to_lsn` (call once the file is written). */
  commit(): void;
  /** Ends the read transaction; call in every case. */
  close(): void;
}

interface NodeRow {
  node: string;
  role: 'main' | 'client';
}

export function exportChanges(db: Db, options: ExportOptions): Exported {
  const self = db.prepare('SELECT node, role FROM sync_node WHERE id = 1').get() as NodeRow | undefined;
  if (!self)
    throw new ExportError('this database has no sync tables yet: run `bootseq migrate` (or `up`) first');
  db.exec('BEGIN');
  try {
    return plan(db, self, options);
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

function plan(db: Db, self: NodeRow, options: ExportOptions): Exported {
  const knownMain = self.role === 'client' ? mainPeer(db) : undefined;
  const to = options.to ?? knownMain;
  // A client that has not heard from its main yet records what it sent under "main" (import.ts moves it).
  const peer = to ?? (self.role === 'client' ? 'main' : undefined);
  const sent = peer === undefined ? 0 : (peerRow(db, peer)?.exported_lsn ?? 0);
  const maxLsn = (db.prepare('SELECT coalesce(max(lsn), 0) AS n FROM change_log').get() as { n: number }).n;
  const fromLsn = options.fromLsn ?? Math.min(sent, maxLsn);
  if (fromLsn > maxLsn)
    throw new ExportError(
      `--from-lsn ${fromLsn} is beyond the end of the change log (its last LSN is ${maxLsn}): nothing was written or recorded`,
    );
  const select = db.prepare(
    `SELECT lsn, tx_id, table_name, pk_json, op, payload, tombstone, created_at, source_node, hlc_ms, hlc_counter
     FROM change_log WHERE lsn > ? AND ${self.role === 'client' ? 'source_node = ?' : 'source_node IS NOT ?'} ORDER BY lsn`,
  );
  const rows = () =>
    select.iterate(fromLsn, self.role === 'client' ? self.node : (to ?? null)) as IterableIterator<Entry>;
  const body = lineHash();
  let count = 0;
  for (const row of rows()) {
    body.add(entryLine(row).slice(0, -1));
    count += 1;
  }
  const meta = {
    source_node: self.node,
    source_role: self.role,
    client_id: self.role === 'client' ? self.node : (to ?? '*'),
    to: to ?? null,
    from_lsn: fromLsn,
    to_lsn: maxLsn,
    count,
    created_at: new Date().toISOString(),
    sha256: body.hex(),
  };
  const exported: Exported = {
    meta,
    writeTo(write) {
      write(headerLine(meta));
      let chunk = '';
      for (const row of rows()) {
        chunk += entryLine(row);
        if (chunk.length >= 1 << 16) {
          write(chunk);
          chunk = '';
        }
      }
      if (chunk) write(chunk);
    },
    text() {
      const parts: string[] = [];
      exported.writeTo((c) => parts.push(c));
      return parts.join('');
    },
    commit() {
      // The read snapshot ends first: a write from inside it fails if another connection wrote since.
      exported.close();
      if (peer === undefined) return;
      db.prepare(
        `INSERT INTO sync_state (peer, exported_lsn, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (peer) DO UPDATE SET exported_lsn = max(exported_lsn, excluded.exported_lsn), updated_at = excluded.updated_at`,
      ).run(peer, maxLsn, new Date().toISOString());
    },
    close() {
      if (db.inTransaction) db.exec('COMMIT');
    },
  };
  return exported;
}

/** Writes an export to FILE whole: a temporary file beside it, then renamed. */
export function writeExport(exported: Exported, file: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    exported.writeTo((chunk) => fs.writeSync(fd, chunk));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function peerRow(db: Db, peer: string): { last_lsn: number; exported_lsn: number } | undefined {
  return db.prepare('SELECT last_lsn, exported_lsn FROM sync_state WHERE peer = ?').get(peer) as
    | { last_lsn: number; exported_lsn: number }
    | undefined;
}

/** A client's main: the peer it imported a main's file from. */
function mainPeer(db: Db): string | undefined {
  const row = db
    .prepare("SELECT peer FROM sync_state WHERE peer_role = 'main' ORDER BY updated_at DESC LIMIT 1")
    .get() as { peer: string } | undefined;
  return row?.peer;
}
