// In-process sync nodes for the property and rule tests of db/sync (docs/sync.md): each a real SQLite
// database (in memory) with the sync tables and capture triggers, a SyncConfig, and a wall clock of its
// own. The clock is virtual: before each write the node's hybrid logical clock is set to at least its
// virtual wall time (the trigger's tick then stamps the write with it, as a skewed clock would), which
// is why virtual times run ahead of the real one (VIRTUAL_BASE_MS).

import Database from 'better-sqlite3';
import type { SyncConfig } from '../../config/schema.js';
import { ensureCapture, exportChanges, importChanges, textLines } from '../../db/sync/index.js';
import type { ImportResult } from '../../db/sync/import.js';

export const SCHEMA = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER);
CREATE TABLE companies (code TEXT PRIMARY KEY, title TEXT);`;

/** Every virtual clock starts here: 3 h after the real one, so a node 2 h behind is still ahead of it. */
export const VIRTUAL_BASE_MS = Date.now() + 3 * 3_600_000;

export interface SimNode {
  readonly name: string;
  readonly role: 'main' | 'client';
  readonly db: Database.Database;
  readonly sync: SyncConfig;
  /** The node's wall clock, as an offset from the shared virtual time. */
  skewMs: number;
  /** Runs `fn` (the app's writes) with the node's wall clock at `virtualMs + skewMs`. */
  write(virtualMs: number, fn: (db: Database.Database) => void, options?: { at?: number }): void;
  exportFor(to?: string): string;
  import(text: string, name?: string): Promise<ImportResult>;
  /** The node's hybrid logical clock: [ms, counter]. */
  clock(): [number, number];
  rows(): { items: unknown[]; companies: unknown[] };
  close(): void;
}

export function createNode(
  name: string,
  role: 'main' | 'client',
  options: { batchSize?: number; skewMs?: number; preferMain?: string[] } = {},
): SimNode {
  const db = new Database(':memory:');
  db.exec(SCHEMA);
  const sync: SyncConfig = {
    node: name,
    role,
    tables: ['items', 'companies'],
    preferMain: options.preferMain ?? ['companies'],
    inbox: undefined,
    batchSize: options.batchSize ?? 100,
    allowSchemaAlter: false,
    maxClockSkewMs: 300_000,
  };
  ensureCapture(db, `sync:${name}`, sync);
  const node: SimNode = {
    name,
    role,
    db,
    sync,
    skewMs: options.skewMs ?? 0,
    write(virtualMs, fn, opts = {}) {
      const wall = opts.at ?? virtualMs + node.skewMs;
      db.prepare('UPDATE sync_node SET hlc_ms = @wall, hlc_counter = -1 WHERE id = 1 AND hlc_ms < @wall').run(
        { wall },
      );
      db.transaction(() => fn(db))();
    },
    exportFor(to) {
      const exported = exportChanges(db, { to });
      try {
        const text = exported.text();
        exported.commit();
        return text;
      } finally {
        exported.close();
      }
    },
    import: (text, file = 'file.ndjson') => importChanges(db, sync, textLines(text), file),
    clock() {
      const row = db.prepare('SELECT hlc_ms, hlc_counter FROM sync_node').get() as {
        hlc_ms: number;
        hlc_counter: number;
      };
      return [row.hlc_ms, row.hlc_counter];
    },
    rows: () => ({
      items: db.prepare('SELECT * FROM items ORDER BY id').all(),
      companies: db.prepare('SELECT * FROM companies ORDER BY code').all(),
    }),
    close: () => db.close(),
  };
  return node;
}
