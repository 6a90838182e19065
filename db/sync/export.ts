// Export (docs/sync.md): the change log after an LSN as a change file. A client exports its own
// changes; a main exports its own and those it applied from other clients (so that every client
// converges through it), never a change back to the node it came from. The default start is what
// sync_state says the peer has already been sent.

import type { Db } from './capture.js';
import { writeChangeFile, type Entry, type Meta } from './format.js';

export interface ExportOptions {
  /** The node the file is for; a client's default is the main it imported from (else "main"). */
  readonly to?: string | undefined;
  readonly fromLsn?: number | undefined;
}

export interface Exported {
  readonly text: string;
  readonly meta: Omit<Meta, 'sha256' | 'format'>;
  /** Records in sync_state that `to` has been sent up to `to_lsn` (call once the file is written). */
  commit(): void;
}

interface NodeRow {
  node: string;
  role: 'main' | 'client';
}

export function exportChanges(db: Db, options: ExportOptions): Exported {
  const self = db.prepare('SELECT node, role FROM sync_node WHERE id = 1').get() as NodeRow | undefined;
  if (!self) throw new Error('this database has no sync tables yet: run `bootseq migrate` (or `up`) first');
  const to = options.to ?? (self.role === 'client' ? mainPeer(db) : undefined);
  const sent = to === undefined ? 0 : (peerRow(db, to)?.exported_lsn ?? 0);
  const fromLsn = options.fromLsn ?? sent;
  const rows = db
    .prepare(
      `SELECT lsn, tx_id, table_name, pk_json, op, payload, tombstone, created_at, source_node
       FROM change_log WHERE lsn > ? ORDER BY lsn`,
    )
    .all(fromLsn) as Omit<Entry, 'source_role'>[];
  const entries: Entry[] = rows
    .filter((r) => (self.role === 'client' ? r.source_node === self.node : r.source_node !== to))
    .map((r) => ({ ...r, source_role: r.source_node === self.node ? self.role : 'client' }));
  const maxLsn = (db.prepare('SELECT coalesce(max(lsn), 0) AS n FROM change_log').get() as { n: number }).n;
  const toLsn = Math.max(fromLsn, maxLsn);
  const meta = {
    source_node: self.node,
    source_role: self.role,
    client_id: self.role === 'client' ? self.node : (to ?? '*'),
    to: to ?? null,
    from_lsn: fromLsn,
    to_lsn: toLsn,
    count: entries.length,
    created_at: new Date().toISOString(),
  };
  return {
    text: writeChangeFile(meta, entries),
    meta,
    commit() {
      if (to === undefined) return;
      db.prepare(
        `INSERT INTO sync_state (peer, exported_lsn, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (peer) DO UPDATE SET exported_lsn = max(exported_lsn, excluded.exported_lsn), updated_at = excluded.updated_at`,
      ).run(to, toLsn, new Date().toISOString());
    },
  };
}

function peerRow(db: Db, peer: string): { last_lsn: number; exported_lsn: number } | undefined {
  return db.prepare('SELECT last_lsn, exported_lsn FROM sync_state WHERE peer = ?').get(peer) as
    | { last_lsn: number; exported_lsn: number }
    | undefined;
}

/** A client's main: the peer it imported a main's file from, else the name "main". */
function mainPeer(db: Db): string {
  const row = db
    .prepare("SELECT peer FROM sync_state WHERE peer_role = 'main' ORDER BY updated_at DESC LIMIT 1")
    .get() as { peer: string } | undefined;
  return row?.peer ?? 'main';
}
