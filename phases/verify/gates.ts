// The gates a sqlite store must pass before Litestream may see it: the file exists, is a SQLite
// database, is in WAL mode, `PRAGMA quick_check` is ok, and the required tables and columns exist.
// Reads only; the file is opened before replication starts, so closing it cannot race Litestream.

import fs from 'node:fs';
import path from 'node:path';
import { excerpt, type GateResult } from '../../core/errors.js';
import { openSqliteFile, quoteIdent, type SqliteFile } from '../../db/index.js';

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

interface SqliteRequirements {
  readonly tables: readonly string[];
  readonly columns: Readonly<Record<string, readonly string[]>>;
}

export async function sqliteGates(
  store: string,
  dbPath: string,
  required: SqliteRequirements,
): Promise<GateResult[]> {
  const gates: GateResult[] = [];
  const gate: Gate = (name, ok, detail) => {
    gates.push({ store, gate: name, ok, detail });
    return ok;
  };
  const header = readHeader(dbPath, gate);
  if (header === undefined) return gates;
  const isSqlite = header.length >= 16 && header.subarray(0, 16).equals(HEADER);
  const detail =
    header.length === 0 ? 'the file is empty' : isSqlite ? 'SQLite format 3' : 'no SQLite header';
  if (!gate('sqlite', header.length >= 100 && isSqlite, detail)) return gates;
  // Header bytes 18/19 are the read/write format versions: 2 means WAL.
  const wal = header[18] === 2 && header[19] === 2;
  gate(
    'wal',
    wal,
    wal
      ? 'journal_mode=wal'
      : 'journal_mode is not WAL (Litestream needs WAL); set PRAGMA journal_mode=WAL in the migration that creates the database',
  );

  let db: SqliteFile | undefined;
  try {
    db = await openSqliteFile(dbPath);
    const check = quickCheck(db);
    gate('quick_check', check.length === 1 && check[0] === 'ok', describeQuickCheck(check));
    schemaGates(db, required, gate);
  } catch (error) {
    gate('open', false, `${dbPath}: ${(error as Error).message}${whyNoOpen(dbPath)}`);
  } finally {
    db?.close();
  }
  return gates;
}

type Gate = (name: string, ok: boolean, detail: string) => boolean;

/**
 * `PRAGMA quick_check`'s complaints, one per entry (SQLite packs several into one row, the first after
 * `*** in database main ***`), or `['ok']`. A check SQLite itself aborts (SQLITE_CORRUPT while walking
 * a b-tree) is a complaint too: the file opened, its pages did not add up.
 */
function quickCheck(db: SqliteFile): string[] {
  let rows: string[];
  try {
    rows = db.prepare('PRAGMA quick_check').pluck().all() as string[];
  } catch (error) {
    if (!/^SQLITE_(CORRUPT|NOTADB)/.test((error as { code?: string }).code ?? '')) throw error;
    rows = [(error as Error).message];
  }
  if (rows.length === 1 && rows[0] === 'ok') return rows;
  return rows
    .flatMap((row) => row.split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^\*\*\* in database \w+ \*\*\*$/.test(line));
}

/** How many complaints SQLite stops at (quick_check's default limit). */
const QUICK_CHECK_LIMIT = 100;
/** How many complaints the one line names. */
const SHOWN_PROBLEMS = 3;

/**
 * One line, however damaged the file: `ok`, or how many problems and the first few (each cut to a
 * couple of hundred characters, escaped), and how many more. The full list is SQLite's to give:
 * `sqlite3 FILE 'PRAGMA quick_check'`.
 */
export function describeQuickCheck(problems: readonly string[]): string {
  if (problems.length === 1 && problems[0] === 'ok') return 'ok';
  if (problems.length === 0) return 'quick_check gave no answer';
  const many = problems.length >= QUICK_CHECK_LIMIT ? `${problems.length} or more` : `${problems.length}`;
  const first = problems.slice(0, SHOWN_PROBLEMS).map((p) => excerpt(p, 200));
  const more = problems.length - first.length;
  return `${many} problem${problems.length === 1 ? '' : 's'} in the database file: ${first.join('; ')}${more > 0 ? ` (and ${problems.length >= QUICK_CHECK_LIMIT ? 'at least ' : ''}${more} more)` : ''}`;
}

/** The first 100 bytes (the SQLite header), or undefined after a failed `exists` gate. */
function readHeader(dbPath: string, gate: Gate): Buffer | undefined {
  let header: Buffer;
  try {
    const fd = fs.openSync(dbPath, 'r');
    try {
      header = Buffer.alloc(100);
      const read = fs.readSync(fd, header, 0, 100, 0);
      header = header.subarray(0, read);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? `${code}, permission denied: the user bootseq runs as must be able to read and write it`
        : (code ?? (error as Error).message);
    gate('exists', false, `${dbPath} cannot be read: ${why}`);
    return undefined;
  }
  gate('exists', true, `${fs.statSync(dbPath).size} bytes`);
  return header;
}

/** The required tables, and the required columns of each table. */
function schemaGates(db: SqliteFile, required: SqliteRequirements, gate: Gate): void {
  const tables = new Set(
    db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").pluck().all() as string[],
  );
  for (const table of required.tables)
    gate(`table ${table}`, tables.has(table), tables.has(table) ? 'present' : 'missing');
  for (const [table, columns] of Object.entries(required.columns)) {
    if (!tables.has(table)) {
      gate(`columns ${table}`, false, `table ${table} is missing`);
      continue;
    }
    const rows = db.prepare(`PRAGMA table_info(${quoteIdent(table)})`).all() as { name: string }[];
    const present = new Set(rows.map((r) => r.name));
    const missing = columns.filter((c) => !present.has(c));
    gate(
      `columns ${table}`,
      missing.length === 0,
      missing.length === 0 ? columns.join(', ') : `missing ${missing.join(', ')}`,
    );
  }
}

/** What the file system says about a database that cannot be opened: a read-only mount, no permission. */
function whyNoOpen(dbPath: string): string {
  if (onReadOnlyFs(dbPath))
    return ` (${path.dirname(dbPath)} is on a read-only file system: Litestream and the app need it read-write)`;
  try {
    fs.accessSync(dbPath, fs.constants.R_OK | fs.constants.W_OK);
    return '';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM'
      ? ' (permission denied: the user bootseq runs as must be able to read and write the file and its folder)'
      : '';
  }
}

/** Whether the database's folder is on a read-only mount (EROFS even for root, unlike permissions). */
function onReadOnlyFs(dbPath: string): boolean {
  try {
    fs.accessSync(path.dirname(dbPath), fs.constants.W_OK);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EROFS';
  }
}

interface PostgresRequirements extends SqliteRequirements {
  readonly sequences: readonly string[];
  readonly extensions: readonly string[];
}

interface PgQuery {
  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * The gates of a postgres store, read-only: required tables and columns (in the search path),
 * sequences (present, and `nextval` allowed, checked without consuming a value), extensions.
 */
export async function postgresGates(
  store: string,
  db: PgQuery,
  required: PostgresRequirements,
): Promise<GateResult[]> {
  const gates: GateResult[] = [];
  const gate = (name: string, ok: boolean, detail: string) => gates.push({ store, gate: name, ok, detail });
  // The column SHOW returns is named after the setting: server_version.
  const version = await db.query<{ server_version: string }>('SHOW server_version');
  gate('connect', true, `PostgreSQL ${version[0]?.server_version ?? '?'}`);
  for (const table of required.tables) {
    const rows = await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]);
    const ok = rows[0]?.t !== null && rows[0]?.t !== undefined;
    gate(`table ${table}`, ok, ok ? 'present' : 'missing');
  }
  for (const [table, columns] of Object.entries(required.columns)) {
    const rows = await db.query<{ attname: string }>(
      'SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped',
      [table],
    );
    const present = new Set(rows.map((r) => r.attname));
    const missing = columns.filter((c) => !present.has(c));
    gate(
      `columns ${table}`,
      rows.length > 0 && missing.length === 0,
      rows.length === 0
        ? `table ${table} is missing`
        : missing.length === 0
          ? columns.join(', ')
          : `missing ${missing.join(', ')}`,
    );
  }
  for (const sequence of required.sequences) {
    const rows = await db.query<{ kind: string | null; usable: boolean | null }>(
      "SELECT c.relkind::text AS kind, has_sequence_privilege(c.oid, 'USAGE') AS usable FROM pg_class c WHERE c.oid = to_regclass($1)",
      [sequence],
    );
    const row = rows[0];
    const ok = row?.kind === 'S' && row.usable === true;
    gate(
      `sequence ${sequence}`,
      ok,
      !row
        ? 'missing'
        : row.kind !== 'S'
          ? 'exists but is not a sequence'
          : row.usable
            ? 'present, nextval allowed'
            : 'present, but nextval is not allowed for this user',
    );
  }
  for (const extension of required.extensions) {
    const rows = await db.query<{ v: string }>(
      'SELECT extversion AS v FROM pg_extension WHERE extname = $1',
      [extension],
    );
    gate(
      `extension ${extension}`,
      rows.length > 0,
      rows.length > 0 ? `version ${rows[0]?.v}` : 'not installed',
    );
  }
  return gates;
}
