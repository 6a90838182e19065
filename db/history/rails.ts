// Rails' history (docs/history-formats.md, Rails): `schema_migrations(version)` with the
// version as its decimal string, one row per migration in the migration's transaction, and
// `ar_internal_metadata` environment upserted whenever migrations run. Files `<digits>_<name>.sql`.
// No checksums: Rails cannot tell an edited migration, and neither can this format.
// Caution (Rails ≥ 7.1): a database with a schema_migrations table counts as initialized, so Rails
// will not load db/<name>_schema.rb into it; use this only for databases Rails migrates, not loads.

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

export const rails: HistoryFormat = {
  name: 'rails',
  defaultTable: 'schema_migrations',
  resolve(dir) {
    const migrations: LocalMigration[] = [];
    const problems: string[] = [];
    for (const name of listFiles(dir, false)) {
      const match = /^(\d+)_([a-z0-9_]+)(\.[a-z0-9_]+)?\.sql$/.exec(name);
      if (!match) continue;
      const read = readMigrationFile(dir, name, problems);
      if (!read) continue;
      migrations.push(
        integerMigration(read, name, {
          version: match[1]!,
          description: match[2]!,
          checksum: null,
          transactional: true,
        }),
      );
    }
    sortByIntegerVersion(migrations, problems, ' (Rails raises DuplicateMigrationVersionError)');
    return { migrations, problems };
  },
  displayChecksum: () => '(Rails records no checksum)',
  lockKey: crc32LockKey(2053462845n),
  async plan(db, local, options) {
    const table = quoteName(options.table);
    const text = db.dialect === 'postgres' ? 'character varying' : 'varchar';
    const stamp = db.dialect === 'postgres' ? 'timestamp(6)' : 'datetime(6)';
    await db.exec(`CREATE TABLE IF NOT EXISTS ${table} ("version" ${text} NOT NULL PRIMARY KEY)`);
    await db.exec(
      `CREATE TABLE IF NOT EXISTS "ar_internal_metadata" ("key" ${text} NOT NULL PRIMARY KEY, "value" ${text}, "created_at" ${stamp} NOT NULL, "updated_at" ${stamp} NOT NULL)`,
    );
    const rows = await db.query<{ version: string }>(`SELECT version FROM ${table}`);
    const applied = new Set(rows.map((r) => BigInt(r.version).toString()));
    return { pending: local.filter((m) => !applied.has(m.version!)), problems: [], notes: [] };
  },
  async apply(db, m, options, inTransaction) {
    const run = async () => {
      await db.execScript(m.sql);
      await db.exec(`INSERT INTO ${quoteName(options.table)} ("version") VALUES ($1)`, [m.version]);
    };
    if (inTransaction) await run();
    else await db.transaction(run);
  },
  async finish(db, options) {
    // config/ resolves it for Rails history (bootseq.yml, RAILS_ENV, RACK_ENV, development).
    const environment = options.environment;
    if (environment === undefined) throw new Error('Rails history without an environment');
    const now =
      db.dialect === 'postgres' ? "(now() at time zone 'utc')" : "strftime('%Y-%m-%d %H:%M:%f000', 'now')";
    const rows = await db.query<{ value: string | null }>(
      `SELECT "value" FROM "ar_internal_metadata" WHERE "key" = 'environment'`,
    );
    if (rows.length === 0) {
      await db.exec(
        `INSERT INTO "ar_internal_metadata" ("key", "value", "created_at", "updated_at") VALUES ('environment', $1, ${now}, ${now})`,
        [environment],
      );
    } else if (rows[0]?.value !== environment) {
      await db.exec(
        `UPDATE "ar_internal_metadata" SET "value" = $1, "updated_at" = ${now} WHERE "key" = 'environment'`,
        [environment],
      );
    }
  },
};
