// Import (docs/sync.md): a change file applied by the seeds/004 policy. The file is checked whole
// first (format.ts) and refused whole on any problem. Then one SAVEPOINT per transaction (a tx_id): a
// transaction already applied is skipped, one that fails rolls back alone and is reported, the rest
// go on; a commit every `batchSize` transactions, each followed by PRAGMA wal_checkpoint(PASSIVE).
// Conflicts: last write wins on created_at (then the node id, so that every node decides alike); in
// prefer_main tables a change made on main beats one made on a client whatever the times; a delete is
// a tombstone that an older change cannot undo. Every decision where the other side had changed the
// row too is written to sync_audit. Capture is off while this runs (sync_node.applying), so nothing
// imported is logged again as a local change; a main keeps the applied changes in its change log
// with their own origin, to pass them on to the other clients.

import type Database from 'better-sqlite3';
import type { SyncConfig } from '../../config/schema.js';
import { recreateTriggers, tableShape, type Db, type TableShape } from './capture.js';
import { parseChangeFile, valuesOf, type Entry, type Meta } from './format.js';

export type Rule = 'lww' | 'prefer_main' | 'tombstone' | 'schema_alter';

export interface FailedTx {
  readonly tx_id: string;
  readonly error: string;
}

export type ImportResult =
  | { readonly status: 'rejected'; readonly reason: string }
  | {
      readonly status: 'applied';
      readonly meta: Meta;
      readonly applied: number;
      readonly skipped: number;
      readonly failed: readonly FailedTx[];
      /** Conflict decisions by rule (both sides had changed the row), and ALTERs. */
      readonly conflicts: Readonly<Partial<Record<Rule, number>>>;
      readonly changes: number;
      /** From the first check of the file to the last commit. */
      readonly durationMs: number;
    };

interface Version {
  created_at: string;
  source_node: string;
  from_main: number;
  deleted: number;
}

interface Tx {
  readonly id: string;
  readonly entries: Entry[];
}

class TxFailure extends Error {}

/** Applies one change file's text; `file` is how audit rows name it. */
export function importChanges(db: Db, sync: SyncConfig, text: string, file: string): ImportResult {
  const startedAt = performance.now();
  const parsed = parseChangeFile(text);
  if (!parsed.ok) return { status: 'rejected', reason: parsed.reason };
  const { meta, entries } = parsed;
  const self = db.prepare('SELECT node, role FROM sync_node WHERE id = 1').get() as
    | { node: string; role: string }
    | undefined;
  if (!self)
    return { status: 'rejected', reason: 'this database has no sync tables yet (run migrate first)' };
  if (meta.source_node === self.node)
    return {
      status: 'rejected',
      reason: `it comes from this node itself (source_node "${meta.source_node}"): importing it would apply its own changes again`,
    };
  const engine = createEngine(db, sync, file);
  const txs = groupByTx(entries);
  const counts = { applied: 0, skipped: 0 };
  const failed: FailedTx[] = [];
  let inBatch = 0;
  const begin = () => {
    db.exec('BEGIN IMMEDIATE');
    db.exec('UPDATE sync_node SET applying = 1 WHERE id = 1');
  };
  const commit = () => {
    db.exec('UPDATE sync_node SET applying = 0 WHERE id = 1');
    db.exec('COMMIT');
    db.pragma('wal_checkpoint(PASSIVE)');
  };
  begin();
  try {
    for (const tx of txs) {
      if (engine.isApplied(tx)) {
        counts.skipped += 1;
        continue;
      }
      db.exec('SAVEPOINT bootseq_tx');
      try {
        for (const entry of tx.entries) engine.apply(tx, entry);
        engine.markApplied(tx);
        db.exec('RELEASE bootseq_tx');
        counts.applied += 1;
      } catch (error) {
        db.exec('ROLLBACK TO bootseq_tx');
        db.exec('RELEASE bootseq_tx');
        engine.forget();
        failed.push({ tx_id: tx.id, error: (error as Error).message });
      }
      inBatch += 1;
      if (inBatch >= sync.batchSize) {
        commit();
        begin();
        inBatch = 0;
      }
    }
    // Resume point: the peer's log is applied up to here (short of the first transaction that failed).
    const firstFailed = txs.find((t) => failed.some((f) => f.tx_id === t.id));
    const upTo = firstFailed ? Math.min(...firstFailed.entries.map((e) => e.lsn)) - 1 : meta.to_lsn;
    db.prepare(
      `INSERT INTO sync_state (peer, peer_role, last_lsn, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (peer) DO UPDATE SET peer_role = excluded.peer_role,
         last_lsn = max(last_lsn, excluded.last_lsn), updated_at = excluded.updated_at`,
    ).run(meta.source_node, meta.source_role, Math.max(0, upTo), new Date().toISOString());
    // A client that exported before it knew its main's id recorded what it sent under "main".
    if (sync.role === 'client' && meta.source_role === 'main') {
      db.prepare(
        `UPDATE sync_state SET exported_lsn = max(exported_lsn,
           coalesce((SELECT exported_lsn FROM sync_state WHERE peer = 'main' AND peer_role IS NULL), 0))
         WHERE peer = ?`,
      ).run(meta.source_node);
      if (meta.source_node !== 'main')
        db.exec("DELETE FROM sync_state WHERE peer = 'main' AND peer_role IS NULL");
    }
    commit();
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
  return {
    status: 'applied',
    meta,
    ...counts,
    failed,
    conflicts: engine.conflicts,
    changes: entries.length,
    durationMs: performance.now() - startedAt,
  };
}

/** Transactions in the order their first change was made. */
function groupByTx(entries: readonly Entry[]): Tx[] {
  const byId = new Map<string, Tx>();
  for (const e of entries) {
    const key = `${e.source_node}\u0000${e.tx_id}`;
    let tx = byId.get(key);
    if (!tx) byId.set(key, (tx = { id: e.tx_id, entries: [] }));
    tx.entries.push(e);
  }
  return [...byId.values()];
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

function createEngine(db: Db, sync: SyncConfig, file: string) {
  const isMain = sync.role === 'main';
  const shapes = new Map<string, TableShape>();
  const upserts = new Map<string, Database.Statement<unknown[]>>();
  const conflicts: Partial<Record<Rule, number>> = {};
  const getVersion = db.prepare(
    'SELECT created_at, source_node, from_main, deleted FROM sync_row_version WHERE table_name = ? AND pk_json = ?',
  );
  const putVersion = db.prepare(
    `INSERT INTO sync_row_version (table_name, pk_json, created_at, source_node, from_main, deleted)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (table_name, pk_json) DO UPDATE SET created_at = excluded.created_at,
       source_node = excluded.source_node, from_main = excluded.from_main, deleted = excluded.deleted`,
  );
  const getApplied = db.prepare('SELECT max_lsn FROM sync_applied WHERE source_node = ? AND tx_id = ?');
  const putApplied = db.prepare(
    `INSERT INTO sync_applied (source_node, tx_id, max_lsn, applied_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (source_node, tx_id) DO UPDATE SET max_lsn = max(max_lsn, excluded.max_lsn), applied_at = excluded.applied_at`,
  );
  const audit = db.prepare(
    `INSERT INTO sync_audit (at, file, tx_id, table_name, pk_json, rule, winner, columns, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const relay = db.prepare(
    `INSERT INTO change_log (tx_id, table_name, pk_json, op, payload, tombstone, created_at, source_node)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  /** Decisions counted per transaction, kept only if it commits. */
  let pending: { rule: Rule }[] = [];

  const shapeOf = (table: string): TableShape => {
    let shape = shapes.get(table);
    if (!shape) {
      if (!sync.tables.includes(table))
        throw new TxFailure(`table "${table}" is not synced here (sync.tables)`);
      shape = tableShape(db, table);
      if (!shape) throw new TxFailure(`table "${table}" does not exist here`);
      shapes.set(table, shape);
    }
    return shape;
  };

  /** Columns the payload has and the table lacks: added as NULLable when allowed, else the transaction fails. */
  const ensureColumns = (tx: Tx, entry: Entry, row: Record<string, unknown>): TableShape => {
    const shape = shapeOf(entry.table_name);
    const missing = Object.keys(row).filter((c) => !shape.columns.includes(c));
    if (missing.length === 0) return shape;
    if (!sync.allowSchemaAlter)
      throw new TxFailure(
        `${entry.table_name} has no column ${missing.map((c) => `"${c}"`).join(', ')} (sync.allow_schema_alter is off; add it with a migration)`,
      );
    for (const column of missing) {
      const type = sqlType(row[column]);
      db.exec(`ALTER TABLE ${q(entry.table_name)} ADD COLUMN ${q(column)} ${type}`);
      audit.run(
        now(),
        file,
        tx.id,
        entry.table_name,
        null,
        'schema_alter',
        'incoming',
        JSON.stringify([column]),
        `ALTER TABLE ${entry.table_name} ADD COLUMN ${column} ${type} (NULLable)`,
      );
      pending.push({ rule: 'schema_alter' });
    }
    shapes.delete(entry.table_name);
    upserts.clear();
    const next = shapeOf(entry.table_name);
    // The capture triggers list the columns: the new one is captured from now on too.
    recreateTriggers(
      db,
      sync.tables.flatMap((t) => tableShape(db, t) ?? []),
    );
    return next;
  };

  const upsertFor = (shape: TableShape, columns: readonly string[]) => {
    const key = `${shape.name}\u0000${columns.join('\u0000')}`;
    let stmt = upserts.get(key);
    if (!stmt) {
      const updates = columns.filter((c) => !shape.pk.includes(c));
      stmt = db.prepare<unknown[]>(
        `INSERT INTO ${q(shape.name)} (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
         ON CONFLICT (${shape.pk.map(q).join(', ')}) DO ${updates.length ? `UPDATE SET ${updates.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}` : 'NOTHING'}`,
      );
      upserts.set(key, stmt);
    }
    return stmt;
  };

  const where = (shape: TableShape) => shape.pk.map((c) => `${q(c)} IS ?`).join(' AND ');
  /** One prepared SELECT and DELETE per table (and per shape: an ALTER clears them with the upserts). */
  const byKey = (kind: 'select' | 'delete', shape: TableShape) => {
    const key = `${kind}\u0000${shape.name}\u0000${shape.columns.join('\u0000')}`;
    let stmt = upserts.get(key);
    if (!stmt) {
      stmt = db.prepare<unknown[]>(
        kind === 'select'
          ? `SELECT * FROM ${q(shape.name)} WHERE ${where(shape)}`
          : `DELETE FROM ${q(shape.name)} WHERE ${where(shape)}`,
      );
      upserts.set(key, stmt);
    }
    return stmt;
  };

  return {
    conflicts,

    isApplied(tx: Tx): boolean {
      const source = tx.entries[0]!.source_node;
      const row = getApplied.get(source, tx.id) as { max_lsn: number } | undefined;
      return row !== undefined && row.max_lsn >= Math.max(...tx.entries.map((e) => e.lsn));
    },

    markApplied(tx: Tx): void {
      putApplied.run(tx.entries[0]!.source_node, tx.id, Math.max(...tx.entries.map((e) => e.lsn)), now());
      for (const { rule } of pending) conflicts[rule] = (conflicts[rule] ?? 0) + 1;
      pending = [];
    },

    /** A transaction rolled back: its decisions are not counted, and an ALTER it made is undone. */
    forget(): void {
      pending = [];
      shapes.clear();
      upserts.clear();
    },

    apply(tx: Tx, entry: Entry): void {
      const fromMain = entry.source_role === 'main' ? 1 : 0;
      const existing = getVersion.get(entry.table_name, entry.pk_json) as Version | undefined;
      const decision = decide(entry, fromMain, existing, sync.preferMain.includes(entry.table_name));
      if (decision === 'same') return;
      const values = valuesOf(entry);
      const pk = values.pk;
      const row = values.row === undefined ? undefined : decode(values.row);
      const shape = row ? ensureColumns(tx, entry, row) : shapeOf(entry.table_name);
      if (existing && existing.source_node !== entry.source_node) {
        const rule: Rule = decision.rule;
        const current = byKey('select', shape).get(...shape.pk.map((c) => pk[c])) as
          | Record<string, unknown>
          | undefined;
        const differing = row
          ? Object.keys(row).filter((c) => current === undefined || !sameValue(current[c], row[c]))
          : current
            ? Object.keys(current)
            : [];
        audit.run(
          now(),
          file,
          tx.id,
          entry.table_name,
          entry.pk_json,
          rule,
          decision.win ? 'incoming' : 'existing',
          JSON.stringify(differing),
          `incoming ${entry.op} from ${entry.source_node} at ${entry.created_at}; existing from ${existing.source_node} at ${existing.created_at}${existing.deleted ? ' (deleted)' : ''}`,
        );
        pending.push({ rule });
      }
      if (!decision.win) return;
      try {
        if (entry.op === 'D') {
          byKey('delete', shape).run(...shape.pk.map((c) => pk[c]));
        } else {
          const columns = Object.keys(row!);
          upsertFor(shape, columns).run(...columns.map((c) => bindable(row![c])));
        }
      } catch (error) {
        throw new TxFailure(`${entry.op} ${entry.table_name} ${entry.pk_json}: ${(error as Error).message}`);
      }
      putVersion.run(
        entry.table_name,
        entry.pk_json,
        entry.created_at,
        entry.source_node,
        fromMain,
        entry.op === 'D' ? 1 : 0,
      );
      if (isMain)
        relay.run(
          entry.tx_id,
          entry.table_name,
          entry.pk_json,
          entry.op,
          entry.payload,
          entry.tombstone,
          entry.created_at,
          entry.source_node,
        );
    },
  };
}

/**
 * Whether the incoming change wins over the row's last known change. The same change (same time, same
 * node) again: nothing to do. Every node decides alike from the same two changes, so they converge.
 */
function decide(
  entry: Entry,
  fromMain: number,
  existing: Version | undefined,
  preferMain: boolean,
): 'same' | { win: boolean; rule: Rule } {
  if (!existing) return { win: true, rule: 'lww' };
  if (existing.created_at === entry.created_at && existing.source_node === entry.source_node) return 'same';
  if (preferMain && existing.from_main !== fromMain) return { win: fromMain === 1, rule: 'prefer_main' };
  const newer =
    entry.created_at > existing.created_at ||
    (entry.created_at === existing.created_at && entry.source_node > existing.source_node);
  const rule: Rule = entry.op === 'D' || existing.deleted ? 'tombstone' : 'lww';
  return { win: newer, rule };
}

function now(): string {
  return new Date().toISOString();
}

/** {"$hex": "…"} (a BLOB, as capture writes it) back to bytes. */
function decode(row: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k in row) {
    const v = row[k];
    const hex = v && typeof v === 'object' && !Array.isArray(v) ? (v as { $hex?: unknown }).$hex : undefined;
    if (typeof hex !== 'string') continue;
    out ??= { ...row };
    out[k] = Buffer.from(hex, 'hex');
  }
  return out ?? row;
}

function bindable(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  // SQLite returns integers as numbers; a JSON payload may carry 1 for true.
  if (a === b) return true;
  const scalar = (v: unknown) =>
    typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? String(v) : undefined;
  const x = scalar(a);
  return x !== undefined && x === scalar(bindable(b));
}

function sqlType(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'INTEGER' : 'REAL';
  if (typeof value === 'boolean') return 'INTEGER';
  if (Buffer.isBuffer(value)) return 'BLOB';
  return 'TEXT';
}
