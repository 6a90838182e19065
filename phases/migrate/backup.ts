// A copy of a store taken before the built-in migrator changes it (seeds/001: a backup before
// changes), so an operator can roll back with `bootseq restore --from-backup PATH STORE`.
// sqlite: `VACUUM INTO` (a consistent, compact copy; the live file is only read). The last
// `backup.keep` copies per store are kept. postgres backups (pg_dump -Fc) are not in this version.

import fs from 'node:fs';
import path from 'node:path';

export interface BackupRecord {
  readonly path: string;
  readonly bytes: number;
  readonly duration_ms: number;
}

export async function backupSqlite(
  dbPath: string,
  dir: string,
  keep: number,
): Promise<BackupRecord | undefined> {
  if (!fs.existsSync(dbPath)) return undefined;
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(dbPath, { fileMustExist: true, readonly: true });
  try {
    const userTables = db
      .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .pluck()
      .get() as number;
    if (userTables === 0) return undefined; // nothing to lose yet
    fs.mkdirSync(dir, { recursive: true });
    const target = path.join(dir, `${new Date().toISOString().replace(/:/g, '-')}.sqlite3`);
    const started = Date.now();
    db.prepare('VACUUM INTO ?').run(target);
    const record = { path: target, bytes: fs.statSync(target).size, duration_ms: Date.now() - started };
    prune(dir, keep);
    return record;
  } finally {
    db.close();
  }
}

function prune(dir: string, keep: number): void {
  const names = fs
    .readdirSync(dir)
    .filter((n) => /^\d{4}-.*Z\.sqlite3$/.test(n))
    .sort();
  for (const name of names.slice(0, Math.max(0, names.length - keep)))
    fs.rmSync(path.join(dir, name), { force: true });
}
