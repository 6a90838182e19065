// `bootseq restore --from-backup PATH STORE`: the operator's rollback (docs/incidents.md (seeds/001)). Puts a
// backup taken before a migration back in place of a sqlite store. Refuses while any process has the database
// open (Litestream must never see its file replaced: docs/litestream.md rule 1), checks the backup first, and
// deletes nothing: the current file is moved aside next to it.

import fs from 'node:fs';
import path from 'node:path';
import { TaskFailedError } from '../../entrypoint/core/errors.js';

export interface RollbackResult {
  readonly movedAside: string | undefined;
  readonly bytes: number;
}

export async function restoreFromBackup(
  store: string,
  dbPath: string,
  backup: string,
): Promise<RollbackResult> {
  const taskId = `restore:${store}`;
  const users = processesWithOpen([dbPath, `${dbPath}-wal`]);
  if (users.length > 0) {
    throw new TaskFailedError(
      taskId,
      `${dbPath} is open in process ${users.join(', ')}; nothing was changed`,
      {
        hint: 'stop the app and Litestream first (stop the container, or SIGTERM bootseq), then run this again',
      },
    );
  }
  const problem = await checkBackup(backup);
  if (problem)
    throw new TaskFailedError(taskId, `${backup} is not a usable backup: ${problem}; nothing was changed`, {
      hint: 'pick another file from the backups folder (`ls` it) ',
    });
  const stamp = new Date().toISOString().replace(/:/g, '-');
  let movedAside: string | undefined;
  if (fs.existsSync(dbPath)) {
    movedAside = `${dbPath}.before-restore-${stamp}`;
    fs.renameSync(dbPath, movedAside);
    for (const suffix of ['-wal', '-shm'])
      if (fs.existsSync(`${dbPath}${suffix}`)) fs.renameSync(`${dbPath}${suffix}`, `${movedAside}${suffix}`);
  }
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const temp = `${dbPath}.tmp-restore-${process.pid}`;
  fs.copyFileSync(backup, temp);
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(temp);
  db.pragma('journal_mode = WAL');
  db.close();
  fs.renameSync(temp, dbPath);
  return { movedAside, bytes: fs.statSync(dbPath).size };
}

async function checkBackup(file: string): Promise<string | undefined> {
  if (!fs.existsSync(file)) return 'it does not exist';
  const { default: Database } = await import('better-sqlite3');
  let db: InstanceType<typeof Database> | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const rows = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
    return rows.length === 1 && rows[0] === 'ok'
      ? undefined
      : `integrity_check: ${rows.slice(0, 3).join('; ')}`;
  } catch (error) {
    return (error as Error).message;
  } finally {
    db?.close();
  }
}

/** PIDs of processes that hold any of `files` open (Linux /proc). */
function processesWithOpen(files: readonly string[]): number[] {
  const wanted = new Set(files.map((f) => path.resolve(f)));
  const found: number[] = [];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return found;
  }
  for (const pid of entries) {
    if (Number(pid) === process.pid) continue;
    try {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        if (wanted.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) {
          found.push(Number(pid));
          break;
        }
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
