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
  const statements = new Map<string, SqliteStatement>();
  const cached = (key: string, sql: () => string) => {
    let stmt = statements.get(key);
    if (!stmt) statements.set(key, (stmt = db.prepare<unknown[]>(sql())));
    return stmt;
  };
  const where = (shape: TableShape) => shape.pk.map((c) => `${q(c)} IS ?`).join(' AND ');
  const shapeKey = (shape: TableShape) => `${shape.name}\u0000${shape.columns.join('\u0000')}`;

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
      const added = missing.map((column) => {
        const type = sqlType(row[column]);
        db.exec(`ALTER TABLE ${q(table)} ADD COLUMN ${q(column)} ${type}`);
        return { column, statement: `ALTER TABLE ${table} ADD COLUMN ${column} ${type} (NULLable)` };
      });
      cache.clear();
      altered = true;
      // The capture triggers list the columns: the new one is captured from now on too.
      recreateTriggers(
        db,
        sync.tables.flatMap((t) => tableShape(db, t) ?? []),
      );
      return { shape: cache.shapeOf(table), added };
    },
    upsert(shape, columns) {
      return cached(`upsert\u0000${shapeKey(shape)}\u0001${columns.join('\u0000')}`, () => {
        const updates = columns.filter((c) => !shape.pk.includes(c));
        const action = updates.length
          ? `UPDATE SET ${updates.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}`
          : 'NOTHING';
        return `INSERT INTO ${q(shape.name)} (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
         ON CONFLICT (${shape.pk.map(q).join(', ')}) DO ${action}`;
      });
    },
    select: (shape) =>
      cached(`select\u0000${shapeKey(shape)}`, () => `SELECT * FROM ${q(shape.name)} WHERE ${where(shape)}`),
    remove: (shape) =>
      cached(`delete\u0000${shapeKey(shape)}`, () => `DELETE FROM ${q(shape.name)} WHERE ${where(shape)}`),
    clear() {
      shapes.clear();
      statements.clear();
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

function sqlType(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'INTEGER' : 'REAL';
  if (typeof value === 'boolean') return 'INTEGER';
  if (Buffer.isBuffer(value)) return 'BLOB';
  return 'TEXT';
}
