// Canonical primary keys (docs/sync.md, issue 28 item 3): a change names its row by pk_json, and every
// spelling of one key must be one row, or a tombstone is bypassed (`{"id": 1}`, `{"id":"1"}` and
// `{"id":1}` all name items 1). The key is rebuilt from the table's declared primary key: its columns
// in declared order, each value converted as SQLite's column affinity would store it, then written
// as compact JSON, the same text the capture triggers' json_object() writes for a local change.

import type { TableShape } from './capture.js';

type Affinity = 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC';

/** SQLite's rules for a declared type's affinity (https://sqlite.org/datatype3.html §3.1). */
export function affinityOf(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t === '' || t.includes('BLOB')) return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

const NUMBER = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/** A key value as the column would store it: "1" in an INTEGER column is 1, 1 in a TEXT column "1". */
function storedAs(affinity: Affinity, value: unknown): unknown {
  if (affinity === 'TEXT') return typeof value === 'number' ? String(value) : value;
  if (affinity === 'BLOB') return value;
  if (typeof value === 'string' && NUMBER.test(value)) {
    const n = Number(value);
    if (Number.isFinite(n) && (affinity === 'REAL' || Number.isSafeInteger(n) || !Number.isInteger(n)))
      return n;
  }
  return value;
}

export interface Key {
  /** The canonical pk_json: what sync_row_version and the change log are keyed by. */
  readonly json: string;
  /** The key's values in the table's primary key order, ready to bind. */
  readonly values: readonly unknown[];
}

function isScalar(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'number') return true;
  // A BLOB key, as capture writes it.
  return (
    typeof value === 'object' &&
    Object.keys(value).length === 1 &&
    typeof (value as { $hex?: unknown }).$hex === 'string'
  );
}

/** Each shape's key column affinities, worked out once (a shape is not changed; an ALTER makes a new one). */
const affinities = new WeakMap<TableShape, readonly Affinity[]>();

function keyAffinities(shape: TableShape): readonly Affinity[] {
  let a = affinities.get(shape);
  if (!a) affinities.set(shape, (a = shape.pk.map((_, i) => affinityOf(shape.pkTypes[i] ?? ''))));
  return a;
}

/** Two key values alike as JSON (what the payload's and pk_json's must be), without writing scalars out. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The change's key rebuilt from the table's primary key, or why it cannot be: a key column missing or
 * not a scalar, a column that is not part of the key, a payload without the key or naming another row.
 */
export function canonicalKey(
  shape: TableShape,
  pk: Record<string, unknown>,
  row: Record<string, unknown> | undefined,
): Key | string {
  for (const c in pk)
    if (!shape.pk.includes(c)) {
      const extra = Object.keys(pk).filter((k) => !shape.pk.includes(k));
      return `pk_json names ${extra.map((k) => `"${k}"`).join(', ')}, not part of ${shape.name}'s primary key (${shape.pk.join(', ')})`;
    }
  const affinity = keyAffinities(shape);
  const canonical: Record<string, unknown> = {};
  const values: unknown[] = [];
  for (let i = 0; i < shape.pk.length; i += 1) {
    const column = shape.pk[i]!;
    if (!(column in pk))
      return `pk_json has no "${column}" (${shape.name}'s primary key: ${shape.pk.join(', ')})`;
    if (!isScalar(pk[column]) || pk[column] === null)
      return `pk_json's "${column}" is ${JSON.stringify(pk[column])} (expected a string or a number)`;
    const value = storedAs(affinity[i]!, pk[column]);
    if (row !== undefined) {
      if (!(column in row)) return `the payload has no "${column}", part of ${shape.name}'s primary key`;
      if (!sameJson(storedAs(affinity[i]!, row[column]), value))
        return `the payload's "${column}" is ${JSON.stringify(row[column])} but pk_json's is ${JSON.stringify(pk[column])}`;
    }
    canonical[column] = value;
    values.push(value);
  }
  return { json: JSON.stringify(canonical), values };
}

/**
 * The key of a change the first pass has checked with canonicalKey, rebuilt without judging it again:
 * from its payload (whose key columns the check found equal to pk_json's), or pk_json for a change
 * without one.
 */
export function checkedKey(shape: TableShape, from: Record<string, unknown>): Key {
  const affinity = keyAffinities(shape);
  const canonical: Record<string, unknown> = {};
  const values: unknown[] = [];
  for (let i = 0; i < shape.pk.length; i += 1) {
    const value = storedAs(affinity[i]!, from[shape.pk[i]!]);
    canonical[shape.pk[i]!] = value;
    values.push(value);
  }
  return { json: JSON.stringify(canonical), values };
}
