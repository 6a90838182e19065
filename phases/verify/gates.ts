// The gates a sqlite store must pass before Litestream may see it: the file exists, is a SQLite
// database, is in WAL mode, `PRAGMA quick_check` is ok, and the required tables and columns exist.
// Reads only; the file is opened before replication starts, so closing it cannot race Litestream.

import fs from 'node:fs';
import type { GateResult } from '../../entrypoint/core/errors.js';

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export interface SqliteRequirements {
  readonly tables: readonly string[];
  readonly columns: Readonly<Record<string, readonly string[]>>;
}

export async function sqliteGates(
  store: string,
  dbPath: string,
  required: SqliteRequirements,
): Promise<GateResult[]> {
  const gates: GateResult[] = [];
  const gate = (name: string, ok: boolean, detail: string) => {
    gates.push({ store, gate: name, ok, detail });
    return ok;
  };
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
    gate(
      'exists',
      false,
      `${dbPath} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
    return gates;
  }
  gate('exists', true, `${fs.statSync(dbPath).size} bytes`);
  if (
    !gate(
      'sqlite',
      header.length >= 100 && header.subarray(0, 16).equals(HEADER),
      header.length === 0
        ? 'the file is empty'
        : header.length >= 16 && header.subarray(0, 16).equals(HEADER)
          ? 'SQLite format 3'
          : 'no SQLite header',
    )
  ) {
    return gates;
  }
  // Header bytes 18/19 are the read/write format versions: 2 means WAL.
  const wal = header[18] === 2 && header[19] === 2;
  gate(
    'wal',
    wal,
    wal
      ? 'journal_mode=wal'
      : 'journal_mode is not WAL (Litestream needs WAL); set PRAGMA journal_mode=WAL in the migration that creates the database',
  );

  const { default: Database } = await import('better-sqlite3');
  let db: InstanceType<typeof Database> | undefined;
  try {
    db = new Database(dbPath, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const check = db.prepare('PRAGMA quick_check').pluck().all() as string[];
    gate('quick_check', check.length === 1 && check[0] === 'ok', check.slice(0, 3).join('; '));
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
      const present = new Set(
        (db.prepare(`PRAGMA table_info(${quoteIdent(table)})`).all() as { name: string }[]).map(
          (r) => r.name,
        ),
      );
      const missing = columns.filter((c) => !present.has(c));
      gate(
        `columns ${table}`,
        missing.length === 0,
        missing.length === 0 ? columns.join(', ') : `missing ${missing.join(', ')}`,
      );
    }
  } catch (error) {
    gate('open', false, (error as Error).message);
  } finally {
    db?.close();
  }
  return gates;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
