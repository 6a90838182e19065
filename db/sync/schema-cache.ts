// The importer's view of the synced tables (import.ts): their shapes and prepared statements, cached
// per table and shape, and the one schema change an import may make: a column a change carries and
// the table lacks, added NULLable when sync.allow_schema_alter is on (docs/sync.md), with the capture
// triggers recreated to list it.

import type { SqliteStatement } from '../sqlite-file.js';
import { quoteIdent } from '../database.js';
import type { SyncConfig } from '../../config/schema.js';
import { recreateTriggers, tableShape, type Db, type TableShape } from './capture.js';

/** A transaction that must roll back alone, with the reason the import line gives. */
export class TxFailure extends Error {}

const q = quoteIdent;

export interface SchemaCache {
  shapeOf(table: string): TableShape;
  /** The columns of `row` the table lacks, added (or a TxFailure); returns the shape after it, and the ALTERs made. */
  ensureColumns(
    table: string,
    row: Record<string, unknown>,
  ): { shape: TableShape; added: { column: string; statement: string }[] };
  upsert(shape: TableShape, columns: readonly string[]): SqliteStatement;
  select(shape: TableShape): SqliteStatement;
  remove(shape: TableShape): SqliteStatement;
  /** Every cached shape and statement dropped (after an ALTER). */
  clear(): void;
  /** A transaction rolled back: if it made an ALTER, that is undone, so the cache is dropped. */
  rolledBack(): void;
  /** A transaction kept: its ALTERs stay. */
  kept(): void;
}

export function createSchemaCache(db: Db, sync: SyncConfig): SchemaCache {
  const shapes = new Map<string, TableShape>();
  let altered = false;
  // Per shape (a shape is a table's columns at one time; an ALTER makes new ones): its statements,
  // found without building a key string per change.
  interface Statements {
    upserts: Map<string, SqliteStatement>;
    select?: SqliteStatement;
    remove?: SqliteStatement;
  }
  let statements = new WeakMap<TableShape, Statements>();
  const of = (shape: TableShape) => {
    let st = statements.get(shape);
    if (!st) statements.set(shape, (st = { upserts: new Map() }));
    return st;
  };
  const prepare = (sql: string) => db.prepare<unknown[]>(sql);
  const where = (shape: TableShape) => shape.pk.map((c) => `${q(c)} IS ?`).join(' AND ');

  const cache: SchemaCache = {
    shapeOf(table) {
      let shape = shapes.get(table);
      if (!shape) {
        if (!sync.tables.includes(table))
          throw new TxFailure(`table "${table}" is not synced here (sync.tables)`);
        shape = tableShape(db, table);
        if (!shape) throw new TxFailure(`table "${table}" does not exist here`);
        shapes.set(table, shape);
      }
      return shape;
    },
    ensureColumns(table, row) {
      const shape = cache.shapeOf(table);
      const missing = Object.keys(row).filter((c) => !shape.columns.includes(c));
      if (missing.length === 0) return { shape, added: [] };
      if (!sync.allowSchemaAlter)
        throw new TxFailure(
          `${table} has no column ${missing.map((c) => `"${c}"`).join(', ')} (sync.allow_schema_alter is off; add it with a migration)`,
        );
      const added = addColumns(db, sync, table, row, missing);
      cache.clear();
      altered = true;
      return { shape: cache.shapeOf(table), added };
    },
    upsert(shape, columns) {
      const { upserts } = of(shape);
      const key = columns.join('\u0000');
      let stmt = upserts.get(key);
      if (!stmt) {
        stmt = prepare(upsertSql(shape, columns));
        upserts.set(key, stmt);
      }
      return stmt;
    },
    select(shape) {
      const st = of(shape);
      return (st.select ??= prepare(`SELECT * FROM ${q(shape.name)} WHERE ${where(shape)}`));
    },
    remove(shape) {
      const st = of(shape);
      return (st.remove ??= prepare(`DELETE FROM ${q(shape.name)} WHERE ${where(shape)}`));
    },
    clear() {
      shapes.clear();
      statements = new WeakMap();
    },
    rolledBack() {
      if (altered) cache.clear();
      altered = false;
    },
    kept() {
      altered = false;
    },
  };
  return cache;
}

/** The columns a change carries and the table lacks, added NULLable; the capture triggers recreated to list them. */
function addColumns(
  db: Db,
  sync: SyncConfig,
  table: string,
  row: Record<string, unknown>,
  missing: readonly string[],
): { column: string; statement: string }[] {
  const added = missing.map((column) => {
    const type = sqlType(row[column]);
    db.exec(`ALTER TABLE ${q(table)} ADD COLUMN ${q(column)} ${type}`);
    return { column, statement: `ALTER TABLE ${table} ADD COLUMN ${column} ${type} (NULLable)` };
  });
  // The capture triggers list the columns: the new one is captured from now on too.
  recreateTriggers(
    db,
    sync.tables.flatMap((t) => tableShape(db, t) ?? []),
  );
  return added;
}

/** INSERT of `columns`, or on the key's conflict an update of the others. */
function upsertSql(shape: TableShape, columns: readonly string[]): string {
  const updates = columns.filter((c) => !shape.pk.includes(c));
  const action = updates.length
    ? `UPDATE SET ${updates.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}`
    : 'NOTHING';
  return `INSERT INTO ${q(shape.name)} (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
         ON CONFLICT (${shape.pk.map(q).join(', ')}) DO ${action}`;
}

function sqlType(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'INTEGER' : 'REAL';
  if (typeof value === 'boolean') return 'INTEGER';
  if (Buffer.isBuffer(value)) return 'BLOB';
  return 'TEXT';
}
