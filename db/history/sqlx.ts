// sqlx's history, byte for byte (docs/history-formats.md, sqlx): `<version>_<desc>.sql`
// (`.up.sql`/`.down.sql` reversible), checksum = SHA-384 of the file's bytes stored as 48 raw bytes,
// one transaction per file unless it starts with `-- no-transaction`, execution_time in nanoseconds,
// the advisory lock key 0x3d32ad9e * crc32(current_database()). docs/incidents.md (seeds/000): a dummy
// checksum here is what made the services panic with VersionMismatch.

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

const I64_MAX = 2n ** 63n - 1n;

export const sqlx: HistoryFormat = {
  name: 'sqlx',
  defaultTable: '_sqlx_migrations',
  resolve(dir) {
    const migrations: LocalMigration[] = [];
    const problems: string[] = [];
    for (const name of listFiles(dir, false)) {
      const cut = name.indexOf('_');
      if (cut < 0) continue;
      const versionText = name.slice(0, cut);
      const rest = name.slice(cut + 1);
      if (!rest.endsWith('.sql')) continue;
      if (
        !/^-?\d+$/.test(versionText) ||
        BigInt(versionText) > I64_MAX ||
        BigInt(versionText) < -I64_MAX - 1n
      ) {
        problems.push(`${name}: "${versionText}" is not a 64-bit integer version (sqlx refuses the folder)`);
        continue;
      }
      if (rest.endsWith('.down.sql')) continue; // only for revert
      const description = rest.replace(/\.up\.sql$|\.sql$/, '').replaceAll('_', ' ');
      const read = readMigrationFile(dir, name, problems, ' (sqlx refuses it)');
      if (!read) continue;
      migrations.push(
        integerMigration(read, name, {
          version: versionText,
          description,
          checksum: createHash('sha384').update(read.bytes).digest(),
          transactional: !read.text.startsWith('-- no-transaction'),
        }),
      );
    }
    sortByIntegerVersion(migrations, problems);
    return { migrations, problems };
  },
  displayChecksum: (bytes) => createHash('sha384').update(bytes).digest('hex'),
  lockKey: crc32LockKey(0x3d32ad9en),
  async plan(db, local, options) {
    const table = quoteName(options.table);
    await db.exec(
      db.dialect === 'postgres'
        ? `CREATE TABLE IF NOT EXISTS ${table} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);`
        : `CREATE TABLE IF NOT EXISTS ${table} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);`,
    );
    const rows = await db.query<{
      version: string | bigint;
      checksum: Buffer;
      success: boolean | bigint | number;
    }>(`SELECT version, checksum, success FROM ${table} ORDER BY version`);
    const applied = new Map(rows.map((r) => [String(r.version), r]));
    const problems: string[] = [];
    for (const row of rows) {
      if (!truthy(row.success))
        problems.push(
          `migration ${String(row.version)} is partially applied (success = false in ${options.table}); sqlx refuses to run (Dirty). Fix the database by hand, then delete that row`,
        );
    }
    const localVersions = new Set(local.map((m) => m.version));
    for (const row of rows) {
      const version = String(row.version);
      if (!localVersions.has(version))
        problems.push(
          `migration ${version} was applied but its file is missing from the folder (VersionMissing); restore the file, or remove the row if the migration was deliberately dropped`,
        );
    }
    for (const m of local) {
      const row = applied.get(m.version!);
      if (!row) continue;
      const recorded = Buffer.from(row.checksum);
      if (!recorded.equals(m.checksum as Buffer)) {
        problems.push(
          `migration ${m.version} (${m.script}) was applied with checksum ${recorded.toString('hex') || '(empty)'} but the file's is ${(m.checksum as Buffer).toString('hex')} (VersionMismatch). Either restore the file to what was applied (git checkout -- ${m.script}), or, if the database already matches the new file, record its checksum: UPDATE ${options.table} SET checksum = ${db.dialect === 'postgres' ? `decode('${(m.checksum as Buffer).toString('hex')}', 'hex')` : `X'${(m.checksum as Buffer).toString('hex')}'`} WHERE version = ${m.version}; compare with \`bootseq checksum ${m.script} --history sqlx\``,
        );
      }
    }
    return { pending: local.filter((m) => !applied.has(m.version!)), problems, notes: [] };
  },
  async apply(db, m, options, inTransaction) {
    const table = quoteName(options.table);
    const started = process.hrtime.bigint();
    const version = db.dialect === 'postgres' ? m.version : BigInt(m.version!);
    const run = async () => {
      await db.execScript(m.sql);
      await db.exec(
        `INSERT INTO ${table} (version, description, success, checksum, execution_time) VALUES ($1, $2, TRUE, $3, -1)`,
        [version, m.description, m.checksum],
      );
    };
    if (m.transactional && !inTransaction) await db.transaction(run);
    else await run();
    const elapsed = process.hrtime.bigint() - started;
    await db.exec(`UPDATE ${table} SET execution_time = $1 WHERE version = $2`, [
      db.dialect === 'postgres' ? elapsed.toString() : elapsed,
      version,
    ]);
  },
};

function truthy(value: boolean | bigint | number): boolean {
  return value === true || value === 1 || value === 1n;
}
