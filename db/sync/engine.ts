// The importer's engine (import.ts): one change applied by the rules of docs/sync.md. The incoming
// change's version (version.ts) is compared with the row's last known one (sync_row_version): the
// greater wins, the same one again does nothing. A delete is a version too (a tombstone), so an older
// change cannot bring the row back. Every decision where another node had changed the row is a
// sync_audit row. A main keeps what it applied in its change log with its own origin and stamp, to
// pass it on; when a client's change loses to main's in a prefer_main table, main logs its winning
// version again, so that the client that lost gets it back even though it had already seen it.

import { randomUUID } from 'node:crypto';
import type { SyncConfig } from '../../config/schema.js';
import type { Db, TableShape } from './capture.js';
import type { Parsed } from './format.js';
import { checkedKey, type Key } from './keys.js';
import { createSchemaCache, TxFailure, type SchemaCache } from './schema-cache.js';
import { compareVersions, type Version } from './version.js';

export type Rule = 'lww' | 'prefer_main' | 'tombstone' | 'schema_alter';

export interface EngineContext {
  /** How audit rows name the file. */
  readonly file: string;
  readonly isMain: boolean;
  /** The node this node knows as main (itself, or the main it imports from), if any. */
  readonly mainNode: string | undefined;
}

interface RowVersion {
  created_at: string;
  source_node: string;
  from_main: number;
  deleted: number;
  hlc_ms: number;
  hlc_counter: number;
}

function statements(db: Db) {
  return {
    getVersion: db.prepare(
      'SELECT created_at, source_node, from_main, deleted, hlc_ms, hlc_counter FROM sync_row_version WHERE table_name = ? AND pk_json = ?',
    ),
    putVersion: db.prepare(
      `INSERT INTO sync_row_version (table_name, pk_json, created_at, source_node, from_main, deleted, hlc_ms, hlc_counter)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (table_name, pk_json) DO UPDATE SET created_at = excluded.created_at,
         source_node = excluded.source_node, from_main = excluded.from_main, deleted = excluded.deleted,
         hlc_ms = excluded.hlc_ms, hlc_counter = excluded.hlc_counter`,
    ),
    // Whether a transaction is applied and the record that it is, in one statement: a row changed
    // (new, or a greater LSN than the one recorded) means "apply it"; none means "applied already".
    getApplied: db.prepare('SELECT max_lsn FROM sync_applied WHERE source_node = ? AND tx_id = ?').pluck(),
    claimApplied: db.prepare(
      `INSERT INTO sync_applied (source_node, tx_id, max_lsn, applied_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (source_node, tx_id) DO UPDATE SET max_lsn = excluded.max_lsn, applied_at = excluded.applied_at
       WHERE excluded.max_lsn > sync_applied.max_lsn`,
    ),
    audit: db.prepare(
      `INSERT INTO sync_audit (at, file, tx_id, table_name, pk_json, rule, winner, columns, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    relay: db.prepare(
      `INSERT INTO change_log (tx_id, table_name, pk_json, op, payload, tombstone, created_at, source_node, hlc_ms, hlc_counter)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // The receive rule of the clock: this node's next stamp is greater than every one it has seen.
    observe: db.prepare(
      `UPDATE sync_node SET
         hlc_counter = CASE WHEN @ms > hlc_ms THEN @counter WHEN @ms = hlc_ms THEN max(hlc_counter, @counter) ELSE hlc_counter END,
         hlc_ms = max(hlc_ms, @ms) WHERE id = 1`,
    ),
  };
}

export type Engine = ReturnType<typeof createEngine>;

/** What the steps of one change share: the statements, the schema cache, and how a decision is audited. */
interface Parts {
  readonly sync: SyncConfig;
  readonly ctx: EngineContext;
  readonly st: ReturnType<typeof statements>;
  readonly schema: SchemaCache;
  /** Called before a write that a later failure of the change must undo (an audit, a relay, an ALTER). */
  readonly guard: () => void;
  audit(
    txId: string,
    table: string,
    pk: string | null,
    rule: Rule,
    winner: string,
    columns: string[],
    detail: string,
  ): void;
}

/** Main's winning version logged again, to reach the client whose change lost to it. */
function reassert({ st, schema, guard }: Parts, shape: TableShape, key: Key, existing: RowVersion): void {
  const current = schema.select(shape).get(...key.values.map(decodeValue)) as
    | Record<string, unknown>
    | undefined;
  if (!current && !existing.deleted) return;
  guard();
  st.relay.run(
    randomUUID(),
    shape.name,
    key.json,
    existing.deleted ? 'D' : 'U',
    current ? encodeRow(current) : null,
    existing.deleted,
    existing.created_at,
    existing.source_node,
    existing.hlc_ms,
    existing.hlc_counter,
  );
}

/** The row written as the change says: deleted, or upserted with the payload's columns. */
function write(parts: Parts, txId: string, { entry, row }: Parsed, key: Key): void {
  // A delete carries the row it deleted: what it deletes is the key.
  const decoded = row === undefined || entry.op === 'D' ? undefined : decodeRow(row);
  const { schema } = parts;
  let shape = schema.shapeOf(entry.table_name);
  if (decoded && parts.sync.allowSchemaAlter && Object.keys(decoded).some((c) => !shape.columns.includes(c)))
    parts.guard(); // an ALTER ahead
  if (decoded) {
    const altered = schema.ensureColumns(entry.table_name, decoded);
    shape = altered.shape;
    for (const { column, statement } of altered.added)
      parts.audit(txId, entry.table_name, null, 'schema_alter', 'incoming', [column], statement);
  }
  try {
    if (!decoded) schema.remove(shape).run(...key.values.map(decodeValue));
    else {
      const columns = Object.keys(decoded);
      schema.upsert(shape, columns).run(...columns.map((c) => bindable(decoded[c])));
    }
  } catch (error) {
    throw new TxFailure(`${entry.op} ${entry.table_name} ${key.json}: ${(error as Error).message}`);
  }
}

/** The columns the incoming change would change in the row as it is here. */
function differing(parts: Parts, shape: TableShape, key: Key, parsed: Parsed): string[] {
  const current = parts.schema.select(shape).get(...key.values.map(decodeValue)) as
    | Record<string, unknown>
    | undefined;
  const decoded = parsed.row === undefined ? undefined : decodeRow(parsed.row);
  if (!decoded) return Object.keys(current ?? {});
  return Object.keys(decoded).filter((c) => current === undefined || !sameValue(current[c], decoded[c]));
}

/** Whether the incoming change wins; a decision against another node's change is audited. */
function decide(
  parts: Parts,
  txId: string,
  parsed: Parsed,
  shape: TableShape,
  key: Key,
): 'win' | 'lose' | 'same' {
  const { entry } = parsed;
  const existing = parts.st.getVersion.get(entry.table_name, key.json) as RowVersion | undefined;
  if (!existing) return 'win';
  const preferMain = parts.sync.preferMain.includes(entry.table_name);
  const incoming: Version = {
    hlcMs: entry.hlc_ms,
    hlcCounter: entry.hlc_counter,
    node: entry.source_node,
    fromMain: entry.source_node === parts.ctx.mainNode,
  };
  const held: Version = {
    hlcMs: existing.hlc_ms,
    hlcCounter: existing.hlc_counter,
    node: existing.source_node,
    fromMain: existing.from_main === 1,
  };
  const order = compareVersions(incoming, held, preferMain);
  if (order === 0) return 'same';
  const rule: Rule =
    preferMain && incoming.fromMain !== held.fromMain
      ? 'prefer_main'
      : entry.op === 'D' || existing.deleted
        ? 'tombstone'
        : 'lww';
  if (existing.source_node !== entry.source_node)
    parts.audit(
      txId,
      entry.table_name,
      key.json,
      rule,
      order > 0 ? 'incoming' : 'existing',
      differing(parts, shape, key, parsed),
      `incoming ${entry.op} from ${entry.source_node} at ${entry.created_at} (clock ${entry.hlc_ms}.${entry.hlc_counter}); existing from ${existing.source_node} at ${existing.created_at} (clock ${existing.hlc_ms}.${existing.hlc_counter})${existing.deleted ? ' (deleted)' : ''}`,
    );
  if (order < 0 && parts.ctx.isMain && rule === 'prefer_main') reassert(parts, shape, key, existing);
  return order > 0 ? 'win' : 'lose';
}

/** The greatest HLC stamp seen since it was last taken: the clock's receive rule at each commit. */
function createStampWatch() {
  let seen = { ms: -1, counter: -1 };
  return {
    see: (entry: Parsed['entry']): void => {
      if (entry.hlc_ms > seen.ms || (entry.hlc_ms === seen.ms && entry.hlc_counter > seen.counter))
        seen = { ms: entry.hlc_ms, counter: entry.hlc_counter };
    },
    take: (): { ms: number; counter: number } => {
      const taken = seen;
      seen = { ms: -1, counter: -1 };
      return taken;
    },
  };
}

/** What decide/write/record share; an audit row counts its rule in `pending` (kept if the transaction is). */
function partsOf(base: Omit<Parts, 'audit'>, pending: Rule[]): Parts {
  const { st, ctx, guard } = base;
  return {
    ...base,
    audit(txId, table, pk, rule, winner, columns, detail) {
      guard();
      st.audit.run(now(), ctx.file, txId, table, pk, rule, winner, JSON.stringify(columns), detail);
      pending.push(rule);
    },
  };
}

/** The winning change recorded: the row's version, and on a main the change kept to pass on. */
function record({ st, ctx }: Parts, e: Parsed['entry'], key: Key): void {
  const deleted = e.op === 'D' ? 1 : 0;
  const fromMain = e.source_node === ctx.mainNode ? 1 : 0;
  st.putVersion.run(
    e.table_name,
    key.json,
    e.created_at,
    e.source_node,
    fromMain,
    deleted,
    e.hlc_ms,
    e.hlc_counter,
  );
  if (ctx.isMain)
    st.relay.run(
      e.tx_id,
      e.table_name,
      key.json,
      e.op,
      e.payload,
      deleted,
      e.created_at,
      e.source_node,
      e.hlc_ms,
      e.hlc_counter,
    );
}

export function createEngine(db: Db, sync: SyncConfig, ctx: EngineContext) {
  const st = statements(db);
  const schema = createSchemaCache(db, sync);
  const conflicts: Partial<Record<Rule, number>> = {};
  /** Decisions counted per transaction, kept only if it commits. */
  const pending: Rule[] = [];
  const stamps = createStampWatch();
  let guard = (): void => {};
  /** Whether the change's row has been written (what comes after it cannot fail alone). */
  let rowWritten = false;
  const parts = partsOf({ sync, ctx, st, schema, guard: () => guard() }, pending);

  return {
    conflicts,

    /** Whether a transaction is applied here already, up to `maxLsn` (read only). */
    isApplied(source: string, txId: string, maxLsn: number): boolean {
      const applied = st.getApplied.get(source, txId) as number | undefined;
      return applied !== undefined && applied >= maxLsn;
    },

    /**
     * Inside the transaction's savepoint: false when it is applied here already (up to `maxLsn`);
     * else true, and it is recorded as applied (undone with the savepoint if it fails).
     */
    claim(source: string, txId: string, maxLsn: number): boolean {
      return st.claimApplied.run(source, txId, maxLsn, now()).changes > 0;
    },

    /** The claimed transaction kept: its decisions counted. */
    kept(): void {
      for (const rule of pending) conflicts[rule] = (conflicts[rule] ?? 0) + 1;
      pending.length = 0;
      schema.kept();
    },

    /** A transaction rolled back: its decisions are not counted, and an ALTER it made is undone. */
    forget(): void {
      pending.length = 0;
      // A failed transaction costs what an applied one costs: the cache survives unless it ALTERed.
      schema.rolledBack();
    },

    /** The greatest stamp seen since the last call, folded into this node's clock (in the open transaction). */
    observeClock(): void {
      const seen = stamps.take();
      if (seen.ms >= 0) st.observe.run(seen);
    },

    /** The change's stamp seen (for the receive rule), without applying it. */
    see: stamps.see,

    /** Whether the last apply() wrote its row before it threw. */
    rowWritten: () => rowWritten,

    /**
     * One change, in the open transaction. `beforeWrite` is called before any write a failure of a
     * later statement of the change must undo (not before the row's own write, which SQLite undoes
     * alone when it fails).
     */
    apply(txId: string, parsed: Parsed, beforeWrite: () => void = () => {}): void {
      const { entry } = parsed;
      stamps.see(entry);
      guard = beforeWrite;
      rowWritten = false;
      const shape = schema.shapeOf(entry.table_name);
      // Checked by the first pass (canonicalKey): rebuilt, not judged again.
      const key = checkedKey(shape, parsed.pk);
      if (decide(parts, txId, parsed, shape, key) !== 'win') return;
      write(parts, txId, parsed, key);
      rowWritten = true;
      record(parts, entry, key);
    },
  };
}

let nowMs = 0;
let nowIso = '';
/** The time audit and applied rows carry (one Date per millisecond, not per row). */
function now(): string {
  const t = Date.now();
  if (t !== nowMs) [nowMs, nowIso] = [t, new Date(t).toISOString()];
  return nowIso;
}

/** {"$hex": "…"} (a BLOB, as capture writes it) back to bytes. */
function decodeValue(value: unknown): unknown {
  const hex = value && typeof value === 'object' ? (value as { $hex?: unknown }).$hex : undefined;
  return typeof hex === 'string' ? Buffer.from(hex, 'hex') : value;
}

function decodeRow(row: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k in row) {
    const v = row[k];
    if (v !== null && typeof v === 'object') {
      out ??= { ...row }; // a BLOB: a copy (scalars, the usual row, are bound as they are)
      out[k] = decodeValue(v);
    }
  }
  return out ?? row;
}

/** A row read from SQLite as a payload: BLOBs as {"$hex": "…"}, as the capture triggers write them. */
function encodeRow(row: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const k in row) {
    const v = row[k];
    out[k] = Buffer.isBuffer(v)
      ? { $hex: v.toString('hex').toUpperCase() }
      : typeof v === 'bigint'
        ? Number(v)
        : v;
  }
  return JSON.stringify(out);
}

function bindable(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
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
