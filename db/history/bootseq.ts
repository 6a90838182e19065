// bootseq's own history, for apps without a migration tool: `<version>_<name>.sql`, applied in
// numeric order, one transaction each (unless the file starts with `-- no-transaction`), SHA-256 of
// the file's bytes recorded as hex, so an edited applied file is caught.

import { createHash } from 'node:crypto';
import { quoteName } from '../database.js';
import {
  crc32LockKey,
  integerMigration,
  listFiles,
  readMigrationFile,
  sortByIntegerVersion,
  type HistoryFormat,
  type LocalMigration,
} from './model.js';

export const bootseqHistory: HistoryFormat = {
  name: 'bootseq',
  defaultTable: 'bootseq_migrations',
  resolve(dir) {
    const migrations: LocalMigration[] = [];
    const problems: string[] = [];
    for (const name of listFiles(dir, false)) {
      const match = /^(\d+)_(.+)\.sql$/.exec(name);
      if (!match) continue;
      const read = readMigrationFile(dir, name, problems);
      if (!read) continue;
      migrations.push(
        integerMigration(read, name, {
          version: match[1]!,
          description: match[2]!.replaceAll('_', ' '),
          checksum: createHash('sha256').update(read.bytes).digest('hex'),
          transactional: !read.text.startsWith('-- no-transaction'),
        }),
      );
    }
    sortByIntegerVersion(migrations, problems);
    return { migrations, problems };
  },
  displayChecksum: (bytes) => createHash('sha256').update(bytes).digest('hex'),
  lockKey: crc32LockKey(0x626f6f74n), // "boot"
  async plan(db, local, options) {
    const table = quoteName(options.table);
    await db.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (
    version TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at ${db.dialect === 'postgres' ? 'TIMESTAMPTZ NOT NULL DEFAULT now()' : "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"},
    execution_ms INTEGER NOT NULL
);`,
    );
    const rows = await db.query<{ version: string; checksum: string }>(
      `SELECT version, checksum FROM ${table}`,
    );
    const applied = new Map(rows.map((r) => [String(r.version), String(r.checksum)]));
    const problems: string[] = [];
    const localVersions = new Set(local.map((m) => m.version));
    for (const version of applied.keys()) {
      if (!localVersions.has(version))
        problems.push(
          `migration ${version} was applied but its file is missing from the folder; restore the file, or delete its row from ${options.table} if it was dropped on purpose`,
        );
    }
    for (const m of local) {
      const recorded = applied.get(m.version!);
      if (recorded !== undefined && recorded !== m.checksum) {
        problems.push(
          `migration ${m.version} (${m.script}) was applied with checksum ${recorded} but the file's is ${String(m.checksum)}. Either restore the file to what was applied (git checkout -- ${m.script}), or, if the database already matches the new file, record it: UPDATE ${options.table} SET checksum = '${String(m.checksum)}' WHERE version = '${m.version}'`,
        );
      }
    }
    return { pending: local.filter((m) => !applied.has(m.version!)), problems, notes: [] };
  },
  async apply(db, m, options, inTransaction) {
    const started = Date.now();
    const run = async () => {
      await db.execScript(m.sql);
      await db.exec(
        `INSERT INTO ${quoteName(options.table)} (version, description, checksum, execution_ms) VALUES ($1, $2, $3, $4)`,
        [m.version, m.description, m.checksum, Date.now() - started],
      );
    };
    if (m.transactional && !inTransaction) await db.transaction(run);
    else await run();
  },
};
