// Change-log sync between SQLite nodes (docs/sync.md; seeds/004's policy): capture.ts (the change
// log and its triggers), format.ts (the change file), export.ts, import.ts, and here what the phases
// and the `sync` command share: opening a store for sync, and the inbox's files (oldest first; done/
// and rejected/ with a reason file beside it).

import fs from 'node:fs';
import path from 'node:path';
import type { SyncConfig } from '../../config/schema.js';
import { excerpt } from '../../core/errors.js';
import { openSqliteFile } from '../sqlite-file.js';
import type { Db } from './capture.js';
import type { Applied } from './import.js';
import { describeAhead } from './version.js';

export { ensureCapture, SYNC_OWN_TABLES, type Db } from './capture.js';
export { exportChanges, ExportError, writeExport, type Exported } from './export.js';
export { importChanges, type Applied, type ImportResult, type Rule } from './import.js';
export { fileLines, textLines } from './reader.js';

/** The store's database, opened for sync through db/'s one opener (its busy timeout, its reason). */
export async function openSyncDb(dbPath: string): Promise<Db> {
  const db = await openSqliteFile(dbPath);
  // 16 MB of page cache (SQLite's default is 2 MB): an import touches each table's pages and indexes.
  db.pragma('cache_size = -16000');
  return db;
}

/** `*.ndjson` in the inbox, oldest first (by modification time, then name). */
export function inboxFiles(sync: SyncConfig): string[] {
  if (!sync.inbox) return [];
  let names: string[];
  try {
    names = fs.readdirSync(sync.inbox).filter((n) => n.endsWith('.ndjson'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .map((n) => ({ file: path.join(sync.inbox!, n), mtime: fs.statSync(path.join(sync.inbox!, n)).mtimeMs }))
    .sort((a, b) => a.mtime - b.mtime || a.file.localeCompare(b.file))
    .map((f) => f.file);
}

/**
 * Moves a handled file into `<inbox>/done/` or `<inbox>/rejected/` (the inbox: the store's, else the
 * file's own folder) and, for a rejected one, writes `<name>.reason` beside it. Returns where it went.
 */
export function settleFile(
  file: string,
  sync: SyncConfig,
  outcome: 'done' | 'rejected',
  reason?: string,
): string {
  const dir = path.join(sync.inbox ?? path.dirname(file), outcome);
  fs.mkdirSync(dir, { recursive: true });
  let target = path.join(dir, path.basename(file));
  if (fs.existsSync(target)) target = path.join(dir, `${Date.now()}-${path.basename(file)}`);
  try {
    fs.renameSync(file, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Another import of the same inbox settled it first: where it went is theirs to say.
    if (code === 'ENOENT') return target;
    // A file brought on another file system (a USB stick, /dev/shm): copied, then removed.
    if (code !== 'EXDEV') throw error;
    fs.copyFileSync(file, target);
    fs.rmSync(file, { force: true });
  }
  if (reason !== undefined) fs.writeFileSync(`${target}.reason`, `${reason}\n`);
  return target;
}

/**
 * One line per imported file, for the log and the command: what was applied, skipped, failed (the
 * first few named, the rest counted), decided, and which nodes' clocks are ahead of this one's.
 */
export function describeImport(file: string, result: Applied, maxClockSkewMs: number): string {
  const conflicts = Object.entries(result.conflicts)
    .map(([rule, n]) => `${n} ${rule}`)
    .join(', ');
  const s = (n: number) => (n === 1 ? '' : 's');
  const failures = result.failures.map((f) => `${f.tx_id}: ${excerpt(f.error, 200)}`).join('; ');
  const more = result.failed - result.failures.length;
  const ahead = result.ahead
    .map(
      (a) =>
        `; node ${a.node}'s clock is ${describeAhead(a.aheadMs)} ahead of this node's (more than sync.max_clock_skew, ${describeAhead(maxClockSkewMs)}): its changes were applied by the rules, and this node's clock follows it`,
    )
    .join('');
  return `${path.basename(file)} from ${result.meta.source_node}: ${result.applied} transaction${s(result.applied)} applied, ${result.skipped} skipped, ${result.failed} failed${conflicts ? `; conflicts: ${conflicts}` : ''} (${result.changes} change${s(result.changes)} in ${Math.round(result.durationMs)} ms)${failures ? `; rolled back: ${failures}${more > 0 ? ` and ${more} more` : ''}` : ''}${ahead}`;
}
