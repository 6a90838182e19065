// Capture (docs/sync.md): the change log the seeds/004 policy defines, kept in the database itself,
// and triggers on every synced table that write one change_log row per changed row. Created
// idempotently after migrations on every boot, and recreated so that they follow the tables' current
// columns. Triggers only ever add rows; they never block the app's write (a BLOB is hex-encoded, not
// refused), and they are silent while bootseq applies an import (sync_node.applying), so imported rows
// are not captured again as local changes.

import type { SqliteFile } from '../sqlite-file.js';
import { quoteIdent } from '../database.js';
import { TaskFailedError } from '../../core/errors.js';

export type Db = SqliteFile;

const DDL = `
CREATE TABLE IF NOT EXISTS change_log (
  lsn INTEGER PRIMARY KEY AUTOINCREMENT,
  tx_id TEXT NOT NULL,
  table_name TEXT NOT NULL,
  pk_json TEXT NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('I', 'U', 'D')),
  payload TEXT,
  tombstone INTEGER NOT NULL DEFAULT 0 CHECK (tombstone IN (0, 1)),
  created_at TEXT NOT NULL,
  source_node TEXT NOT NULL,
  hlc_ms INTEGER NOT NULL DEFAULT 0,
  hlc_counter INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sync_state (
  peer TEXT PRIMARY KEY,
  peer_role TEXT,
  last_lsn INTEGER NOT NULL DEFAULT 0,
  exported_lsn INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_applied (
  source_node TEXT NOT NULL,
  tx_id TEXT NOT NULL,
  max_lsn INTEGER NOT NULL,
  applied_at TEXT NOT NULL,
  PRIMARY KEY (source_node, tx_id)
);
CREATE TABLE IF NOT EXISTS sync_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  file TEXT,
  tx_id TEXT,
  table_name TEXT NOT NULL,
  pk_json TEXT,
  rule TEXT NOT NULL,
  winner TEXT NOT NULL,
  columns TEXT,
  detail TEXT
);
CREATE TABLE IF NOT EXISTS sync_row_version (
  table_name TEXT NOT NULL,
  pk_json TEXT NOT NULL,
  created_at TEXT NOT NULL,
  source_node TEXT NOT NULL,
  from_main INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  hlc_ms INTEGER NOT NULL DEFAULT 0,
  hlc_counter INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (table_name, pk_json)
);
CREATE TABLE IF NOT EXISTS sync_node (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  node TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('main', 'client')),
  applying INTEGER NOT NULL DEFAULT 0,
  hlc_ms INTEGER NOT NULL DEFAULT 0,
  hlc_counter INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sync_tx (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  tx_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_file (
  sha256 TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  source_node TEXT NOT NULL,
  imported_at TEXT NOT NULL
);
`;

/** Columns added since the first sync tables (bootseq-changes/1): the hybrid logical clock. */
const ADDED: readonly (readonly [table: string, column: string])[] = [
  ['change_log', 'hlc_ms'],
  ['change_log', 'hlc_counter'],
  ['sync_row_version', 'hlc_ms'],
  ['sync_row_version', 'hlc_counter'],
  ['sync_node', 'hlc_ms'],
  ['sync_node', 'hlc_counter'],
];

/** ISO-8601 text to milliseconds since the epoch, in SQL (a version from before the clock columns). */
const ISO_MS = (column: string) => `CAST(round((julianday(${column}) - 2440587.5) * 86400000) AS INTEGER)`;

/**
 * A database set up by an earlier bootseq gets the clock columns; its recorded versions keep their
 * order (the time they carried, counter 0) and its clock starts at the latest of them.
 */
function upgrade(db: Db): void {
  for (const [table, column] of ADDED) {
    const has = db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column);
    if (has) continue;
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} INTEGER NOT NULL DEFAULT 0`);
    if (column === 'hlc_ms' && table !== 'sync_node')
      db.exec(`UPDATE ${table} SET hlc_ms = coalesce(${ISO_MS('created_at')}, 0)`);
  }
  db.exec(
    `UPDATE sync_node SET hlc_ms = max(hlc_ms, coalesce((SELECT max(hlc_ms) FROM sync_row_version), 0))`,
  );
}

/** The tables bootseq owns: never synced, never captured. */
export const SYNC_OWN_TABLES = [
  'change_log',
  'sync_state',
  'sync_applied',
  'sync_audit',
  'sync_row_version',
  'sync_node',
  'sync_tx',
  'sync_file',
];

/** A UUID v4 from SQLite's randomblob(), inside a trigger (no variables there). */
const UUID = `(SELECT lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(h, 18, 3) || '-' || substr(h, 21, 12)) FROM (SELECT hex(randomblob(16)) AS h))`;
const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;
/** This node's wall clock in milliseconds (SQLite ≥ 3.42; better-sqlite3 12 bundles 3.5x). */
const NOW_MS = `CAST(unixepoch('subsec') * 1000 AS INTEGER)`;
const NODE = `(SELECT node FROM sync_node WHERE id = 1)`;
/**
 * The hybrid logical clock's local tick (docs/sync.md): the later of the wall clock and every version
 * this node has made or seen; on a tie with what it has, the counter goes up. So a write made after
 * seeing a version always carries a greater one, whatever the wall clock says. (SQLite evaluates every
 * SET expression on the old row.)
 */
const TICK = `UPDATE sync_node SET
  hlc_counter = CASE WHEN ${NOW_MS} > hlc_ms THEN 0 ELSE hlc_counter + 1 END,
  hlc_ms = max(hlc_ms, ${NOW_MS}) WHERE id = 1;`;
const HLC_MS = `(SELECT hlc_ms FROM sync_node WHERE id = 1)`;
const HLC_COUNTER = `(SELECT hlc_counter FROM sync_node WHERE id = 1)`;
const FROM_MAIN = `(SELECT role = 'main' FROM sync_node WHERE id = 1)`;
/** The app's declared transaction (docs/sync.md), else one id per changed row. */
const TX_ID = `coalesce((SELECT tx_id FROM sync_tx WHERE id = 1), ${UUID})`;

export interface TableShape {
  readonly name: string;
  readonly columns: readonly string[];
  readonly pk: readonly string[];
  /** Each primary key column's declared type, for its affinity (keys.ts). */
  readonly pkTypes: readonly string[];
}

const q = quoteIdent;
const lit = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** A column's value as JSON: BLOBs as {"$hex": "…"} (json_object refuses them), the rest as is. */
function jsonValue(row: 'NEW' | 'OLD', column: string): string {
  const ref = `${row}.${q(column)}`;
  return `CASE typeof(${ref}) WHEN 'blob' THEN json_object('$hex', hex(${ref})) ELSE ${ref} END`;
}

function jsonOf(row: 'NEW' | 'OLD', columns: readonly string[]): string {
  return `json_object(${columns.map((c) => `${lit(c)}, ${jsonValue(row, c)}`).join(', ')})`;
}

/** The table's columns and primary key, or undefined when it does not exist. */
export function tableShape(db: Db, table: string): TableShape | undefined {
  const rows = db.prepare(`SELECT name, type, pk FROM pragma_table_info(?)`).all(table) as {
    name: string;
    type: string;
    pk: number;
  }[];
  if (rows.length === 0) return undefined;
  const pkRows = rows.filter((r) => r.pk > 0).sort((a, b) => a.pk - b.pk);
  return {
    name: table,
    columns: rows.map((r) => r.name),
    pk: pkRows.map((r) => r.name),
    pkTypes: pkRows.map((r) => r.type),
  };
}

function triggerSql(shape: TableShape): string[] {
  const t = shape.name;
  const when = `WHEN (SELECT applying FROM sync_node WHERE id = 1) = 0`;
  const log = (op: string, row: 'NEW' | 'OLD', tombstone: number) =>
    `${TICK} INSERT INTO change_log (tx_id, table_name, pk_json, op, payload, tombstone, created_at, source_node, hlc_ms, hlc_counter)
     VALUES (${TX_ID}, ${lit(t)}, ${jsonOf(row, shape.pk)}, '${op}', ${jsonOf(row, shape.columns)}, ${tombstone}, ${NOW}, ${NODE}, ${HLC_MS}, ${HLC_COUNTER});`;
  const version = (row: 'NEW' | 'OLD', deleted: number) =>
    `INSERT INTO sync_row_version (table_name, pk_json, created_at, source_node, from_main, deleted, hlc_ms, hlc_counter)
     VALUES (${lit(t)}, ${jsonOf(row, shape.pk)}, ${NOW}, ${NODE}, ${FROM_MAIN}, ${deleted}, ${HLC_MS}, ${HLC_COUNTER})
     ON CONFLICT (table_name, pk_json) DO UPDATE SET created_at = excluded.created_at,
       source_node = excluded.source_node, from_main = excluded.from_main, deleted = excluded.deleted,
       hlc_ms = excluded.hlc_ms, hlc_counter = excluded.hlc_counter;`;
  const name = (suffix: string) => q(`bootseq_sync_${t}_${suffix}`);
  const pkChanged = shape.pk.map((c) => `OLD.${q(c)} IS NOT NEW.${q(c)}`).join(' OR ');
  return [
    `CREATE TRIGGER ${name('ai')} AFTER INSERT ON ${q(t)} ${when} BEGIN ${log('I', 'NEW', 0)} ${version('NEW', 0)} END`,
    // An UPDATE that moves a row to another key deletes the old key as far as the other nodes know.
    `CREATE TRIGGER ${name('ak')} AFTER UPDATE ON ${q(t)} ${when} AND (${pkChanged}) BEGIN ${log('D', 'OLD', 1)} ${version('OLD', 1)} END`,
    `CREATE TRIGGER ${name('au')} AFTER UPDATE ON ${q(t)} ${when} BEGIN ${log('U', 'NEW', 0)} ${version('NEW', 0)} END`,
    `CREATE TRIGGER ${name('ad')} AFTER DELETE ON ${q(t)} ${when} BEGIN ${log('D', 'OLD', 1)} ${version('OLD', 1)} END`,
  ];
}

export interface CaptureSpec {
  readonly node: string;
  readonly role: 'main' | 'client';
  readonly tables: readonly string[];
}

/**
 * Creates the sync tables, records this node, and (re)creates the capture triggers of every synced
 * table, in one transaction. A node id that differs from the one the database was set up with, a
 * table that does not exist or has no primary key: a TaskFailedError naming it, nothing changed.
 */
export function ensureCapture(db: Db, taskId: string, spec: CaptureSpec): TableShape[] {
  // BEGIN IMMEDIATE: the transaction reads first and may write after (an upgrade, the node row, the
  // triggers); a deferred one would fail at once with SQLITE_BUSY when another import wrote meanwhile
  // (the busy timeout does not cover a read transaction's upgrade), seen with two imports at once.
  const ensure = db.transaction(() => {
    db.exec(DDL);
    upgrade(db);
    const known = db.prepare('SELECT node, role FROM sync_node WHERE id = 1').get() as
      | { node: string; role: string }
      | undefined;
    if (known && known.node !== spec.node)
      throw new TaskFailedError(
        taskId,
        `sync.node is "${spec.node}" but this database was set up as node "${known.node}": its change log and the other nodes' sync_state name it so`,
        {
          hint: `set sync.node back to "${known.node}"; a node id is for the life of its database`,
        },
      );
    db.prepare(
      `INSERT INTO sync_node (id, node, role) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET role = excluded.role, applying = 0`,
    ).run(spec.node, spec.role);
    const shapes = spec.tables.map((table) => {
      if (SYNC_OWN_TABLES.includes(table))
        throw new TaskFailedError(taskId, `sync.tables lists "${table}", one of bootseq's own sync tables`, {
          hint: `remove "${table}" from sync.tables`,
        });
      const shape = tableShape(db, table);
      if (!shape)
        throw new TaskFailedError(taskId, `sync.tables lists "${table}", which this database does not have`, {
          hint: 'add a migration that creates it, or remove it from sync.tables',
        });
      if (shape.pk.length === 0)
        throw new TaskFailedError(
          taskId,
          `table "${table}" has no PRIMARY KEY: its rows cannot be matched across nodes`,
          {
            hint: `give "${table}" a primary key (a migration), or remove it from sync.tables`,
          },
        );
      return shape;
    });
    recreateTriggers(db, shapes);
    return shapes;
  });
  return ensure.immediate();
}

/** Drops every bootseq capture trigger and creates those of `shapes` (their columns as they are now). */
export function recreateTriggers(db: Db, shapes: readonly TableShape[]): void {
  const existing = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'bootseq\\_sync\\_%' ESCAPE '\\'",
    )
    .all() as { name: string }[];
  for (const { name } of existing) db.exec(`DROP TRIGGER IF EXISTS ${q(name)}`);
  for (const shape of shapes) for (const sql of triggerSql(shape)) db.exec(sql);
}
