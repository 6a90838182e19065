// Backups of sqlite stores. Taking one: `VACUUM INTO` before the built-in migrator changes the store
// (a backup before changes: docs/incidents.md (seeds/001)), a consistent, compact copy for which the live file is only
// read; the last `backup.keep` copies per store are kept. Putting one back (`bootseq restore
// --from-backup`): refused while any process has the database open (Litestream must never see its
// file replaced: docs/litestream.md rule 1), the backup is checked first, and nothing is deleted: the
// current file is moved aside next to it. Never prints or emits: the callers say what happened.

import fs from 'node:fs';
import path from 'node:path';
import { TaskFailedError } from '../../core/errors.js';
import { pruneStamped, stampAt, stampedName } from '../../core/stamped-files.js';
import { taskId } from '../../core/task.js';
import { processesWithOpen } from '../processes.js';
import { checkIntegrity } from '../sqlite.js';
import { openSqliteFile } from '../sqlite-file.js';
import { BACKUP_EXT, type BackupRecord } from './layout.js';

/** A copy of the sqlite file at `file` into `dir`; undefined when there is nothing to lose yet. */
export async function backupSqlite(
  file: string,
  dir: string,
  keep: number,
): Promise<BackupRecord | undefined> {
  if (!fs.existsSync(file)) return undefined;
  const db = await openSqliteFile(file, { readonly: true });
  try {
    const userTables = db
      .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .pluck()
      .get() as number;
    if (userTables === 0) return undefined; // nothing to lose yet
    fs.mkdirSync(dir, { recursive: true });
    // Taken under the migration's write lock, so one at a time per store; a name taken already (the
    // same millisecond) moves on by one.
    let ms = Date.now();
    while (fs.existsSync(path.join(dir, stampedName(BACKUP_EXT.sqlite, ms)))) ms += 1;
    const target = path.join(dir, stampedName(BACKUP_EXT.sqlite, ms));
    const started = Date.now();
    db.prepare('VACUUM INTO ?').run(target);
    const record = { path: target, bytes: fs.statSync(target).size, duration_ms: Date.now() - started };
    pruneStamped(dir, BACKUP_EXT.sqlite, keep);
    return record;
  } finally {
    db.close();
  }
}

export interface SqliteRollback {
  /** Where the file that was in place now is (`<file>.before-restore-<stamp>`); undefined if there was none. */
  readonly movedAside: string | undefined;
  readonly bytes: number;
}

/** Puts the backup `backup` in place of the sqlite file `dbPath` of store `store`, with the app stopped. */
export async function rollBackSqlite(store: string, dbPath: string, backup: string): Promise<SqliteRollback> {
  const id = taskId('restore', store);
  const users = processesWithOpen([dbPath, `${dbPath}-wal`]);
  if (users.length > 0) {
    throw new TaskFailedError(id, `${dbPath} is open in process ${users.join(', ')}; nothing was changed`, {
      hint: 'stop the app and Litestream first (stop the container, or SIGTERM bootseq), then run this again',
    });
  }
  const problem = await checkBackup(backup);
  if (problem)
    throw new TaskFailedError(id, `${backup} is not a usable backup: ${problem}; nothing was changed`, {
      hint: 'pick another file from the backups folder (`ls` it) ',
    });
  let movedAside: string | undefined;
  if (fs.existsSync(dbPath)) {
    movedAside = `${dbPath}.before-restore-${stampAt()}`;
    fs.renameSync(dbPath, movedAside);
    for (const suffix of ['-wal', '-shm'])
      if (fs.existsSync(`${dbPath}${suffix}`)) fs.renameSync(`${dbPath}${suffix}`, `${movedAside}${suffix}`);
  }
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  // Copied under a temporary name and renamed into place, so the store's path never holds half a file.
  const temp = `${dbPath}.tmp-restore-${process.pid}`;
  fs.copyFileSync(backup, temp);
  const db = await openSqliteFile(temp);
  db.pragma('journal_mode = WAL');
  db.close();
  fs.renameSync(temp, dbPath);
  return { movedAside, bytes: fs.statSync(dbPath).size };
}

async function checkBackup(file: string): Promise<string | undefined> {
  if (!fs.existsSync(file)) return 'it does not exist';
  const check = await checkIntegrity(file, { readonly: true, rows: 3 });
  if (check.ok) return undefined;
  // A failing check is named; a file that is no database at all says so itself.
  return check.opened ? `integrity_check: ${check.detail}` : check.detail;
}
