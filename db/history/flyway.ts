// Flyway's history, row for row (docs/history-formats.md, Flyway): `V<version>__<desc>.sql`
// and repeatable `R__<desc>.sql`, found recursively; checksum = CRC-32 of the UTF-8 text with a BOM
// and every CR/LF removed, as a signed 32-bit integer; `installed_rank` in insertion order; baseline
// rows; validation as `flyway migrate` does it; the advisory lock key 77431708279161 + hash of the
// quoted table name. Placeholders (`${…}`) are not supported and are refused.

import fs from 'node:fs';
import path from 'node:path';
import { hasTables, quoteName, type MigrationDb } from '../database.js';
import {
  crc32,
  decodeUtf8,
  listFiles,
  readMigrationFile,
  tableExists,
  withoutBom,
  type HistoryFormat,
  type LocalMigration,
  type MigrateOptions,
} from './model.js';

const NON_TRANSACTIONAL_PG =
  /\b(CREATE\s+(DATABASE|TABLESPACE|SUBSCRIPTION)|ALTER\s+SYSTEM|CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY|REINDEX|VACUUM|DISCARD\s+ALL)\b/i;
const BASELINE_DESCRIPTION = '<< Flyway Baseline >>';

/** Flyway's checksum: CRC-32 over the text without BOM and without any CR/LF, signed 32-bit. */
export function flywayChecksum(bytes: Buffer): number {
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new Error('not valid UTF-8');
  return crc32(withoutBom(text).replace(/[\r\n]/g, '')) | 0;
}

/** Flyway version order: numeric parts, missing parts 0, trailing zeros ignored (`1.0` = `1` = `01`). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => BigInt(p));
  const pb = b.split('.').map((p) => BigInt(p));
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const x = pa[i] ?? 0n;
    const y = pb[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function truncate(text: string, max: number, fromStart: boolean): string {
  if (text.length <= max) return text;
  return fromStart ? `...${text.slice(3, max)}` : `${text.slice(0, max - 3)}...`;
}

/** Java's String.hashCode over UTF-16 code units, signed 32-bit. */
export function javaHashCode(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i += 1) h = (31 * h + text.charCodeAt(i)) | 0;
  return h;
}

interface FlywayRow {
  installed_rank: number | bigint;
  version: string | null;
  description: string;
  type: string;
  script: string;
  checksum: number | bigint | null;
  success: boolean | number | bigint;
}

function isTrue(v: boolean | number | bigint): boolean {
  return v === true || v === 1 || v === 1n;
}

export const flyway: HistoryFormat = {
  name: 'flyway',
  defaultTable: 'flyway_schema_history',
  resolve(dir) {
    const migrations: LocalMigration[] = [];
    const problems: string[] = [];
    for (const script of listFiles(dir, true)) {
      const name = path.posix.basename(script);
      if (!/\.sql$/i.test(name)) continue;
      const prefix = name[0];
      if (prefix !== 'V' && prefix !== 'R') continue;
      const stem = name.slice(1, name.length - 4);
      const cut = stem.indexOf('__');
      if (cut < 0) {
        problems.push(`${script}: expected ${prefix}<version>__<description>.sql (Flyway needs "__")`);
        continue;
      }
      const versionText = stem.slice(0, cut).replaceAll('_', '.');
      if (prefix === 'R' && versionText !== '') {
        problems.push(`${script}: a repeatable migration has no version (expected R__<description>.sql)`);
        continue;
      }
      if (prefix === 'V' && !/^\d+(\.\d+)*$/.test(versionText)) {
        problems.push(`${script}: "${versionText}" is not a Flyway version (numbers separated by . or _)`);
        continue;
      }
      const read = readMigrationFile(dir, script, problems, ' (Flyway refuses it)');
      if (!read) continue;
      const { file, bytes, text } = read;
      const sql = withoutBom(text);
      if (/\$\{[^}]+\}/.test(sql)) {
        problems.push(
          `${script}: uses a Flyway placeholder (\${…}); placeholders are not supported, write the value out`,
        );
        continue;
      }
      let conf = '';
      try {
        conf = fs.readFileSync(`${file}.conf`, 'utf8');
      } catch {
        // no per-script config
      }
      const noTransaction = /^\s*executeInTransaction\s*=\s*false\s*$/im.test(conf);
      migrations.push({
        version: prefix === 'V' ? versionText : undefined,
        description: truncate(stem.slice(cut + 2).replaceAll('_', ' '), 200, false),
        file,
        script: truncate(script, 1000, true),
        bytes,
        sql,
        checksum: flywayChecksum(bytes),
        repeatable: prefix === 'R',
        transactional: !noTransaction && !NON_TRANSACTIONAL_PG.test(sql.replace(/--[^\n]*/g, '')),
      });
    }
    const versioned = migrations
      .filter((m) => !m.repeatable)
      .sort((a, b) => compareVersions(a.version!, b.version!));
    for (let i = 1; i < versioned.length; i += 1) {
      if (compareVersions(versioned[i]!.version!, versioned[i - 1]!.version!) === 0) {
        problems.push(
          `${versioned[i - 1]!.script} and ${versioned[i]!.script} have the same version ${versioned[i]!.version} (Flyway refuses the folder)`,
        );
      }
    }
    const repeatable = migrations
      .filter((m) => m.repeatable)
      .sort((a, b) => a.description.localeCompare(b.description));
    return { migrations: [...versioned, ...repeatable], problems };
  },
  displayChecksum: (bytes) => String(flywayChecksum(bytes)),
  async lockKey(db, options) {
    if (db.dialect !== 'postgres') return undefined;
    return 77431708279161n + BigInt(javaHashCode(await qualifiedTable(db, options)));
  },
  async plan(db, local, options) {
    const table = await qualifiedTable(db, options);
    const notes: string[] = [];
    const problems: string[] = [];
    const refused = await ensureHistoryTable(db, table, options, notes);
    if (refused) return { pending: [], notes, problems: [refused] };
    const rows = await db.query<FlywayRow>(
      `SELECT installed_rank, version, description, type, script, checksum, success FROM ${table} ORDER BY installed_rank`,
    );
    const baselineRow = rows.slice(0, 2).find((r) => r.type === 'BASELINE');
    if (
      baselineRow &&
      options.baseline !== undefined &&
      baselineRow.version !== null &&
      compareVersions(baselineRow.version, options.baseline) !== 0
    ) {
      problems.push(
        `${options.table} has a baseline at version ${baselineRow.version}, but migrate.baseline is ${options.baseline}; Flyway never rewrites a baseline (set migrate.baseline: "${baselineRow.version}")`,
      );
    }
    for (const row of rows) {
      if (!isTrue(row.success))
        problems.push(
          `Detected failed migration to version ${row.version ?? '(repeatable)'} (${row.script}); fix the database by hand, then delete that row from ${options.table} (what \`flyway repair\` does)`,
        );
    }
    const baseline = baselineRow?.version ?? undefined;
    const above = (v: string) => baseline === undefined || compareVersions(v, baseline) > 0;
    const applied = rows.filter((r) => r.version !== null && r.type !== 'BASELINE' && r.type !== 'SCHEMA');
    const versioned = local.filter((m) => !m.repeatable && above(m.version!));
    const maxLocal = versioned.reduce<string | undefined>(
      (max, m) => (max === undefined || compareVersions(m.version!, max) > 0 ? m.version : max),
      undefined,
    );
    problems.push(...checkApplied(applied, versioned, { above, maxLocal, table: options.table }, notes));
    const maxApplied = applied.reduce<string | undefined>(
      (max, r) => (max === undefined || compareVersions(r.version!, max) > 0 ? r.version! : max),
      baseline,
    );
    const pending: LocalMigration[] = [];
    for (const m of versioned) {
      if (applied.some((r) => compareVersions(r.version!, m.version!) === 0)) continue;
      if (maxApplied !== undefined && compareVersions(m.version!, maxApplied) < 0 && !options.outOfOrder) {
        problems.push(
          `Detected resolved migration not applied to database: ${m.version} (${m.script}) is older than the newest applied version ${maxApplied}; set migrate.out_of_order: true to apply it anyway, or give it a newer version`,
        );
        continue;
      }
      pending.push(m);
    }
    for (const m of local.filter((x) => x.repeatable)) {
      const latest = rows
        .filter((r) => r.version === null && r.type === 'SQL' && r.description === m.description)
        .at(-1);
      if (!latest || Number(latest.checksum) !== m.checksum) pending.push(m);
    }
    return { pending, problems, notes };
  },
  async apply(db, m, options, inTransaction) {
    const table = await qualifiedTable(db, options);
    const started = Date.now();
    const installedBy =
      db.dialect === 'postgres'
        ? ((await db.query<{ u: string }>('SELECT current_user AS u'))[0]?.u ?? '')
        : '';
    const record = async (success: boolean) => {
      const rank =
        (
          await db.query<{ r: number | bigint }>(
            `SELECT COALESCE(MAX(installed_rank), 0) + 1 AS r FROM ${table}`,
          )
        )[0]?.r ?? 1;
      await db.exec(
        `INSERT INTO ${table} (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES ($1, $2, $3, 'SQL', $4, $5, $6, $7, $8)`,
        [
          Number(rank),
          m.version ?? null,
          m.description,
          m.script,
          m.checksum,
          installedBy,
          Date.now() - started,
          success,
        ],
      );
    };
    if (inTransaction || (m.transactional && db.dialect === 'sqlite')) {
      await db.execScript(m.sql);
      await record(true);
    } else if (m.transactional) {
      await db.transaction(async () => {
        await db.execScript(m.sql);
        await record(true);
      });
    } else {
      try {
        await db.execScript(m.sql);
      } catch (error) {
        await record(false); // Flyway records a failed non-transactional migration; `repair` removes it
        throw error;
      }
      await record(true);
    }
  },
};

async function qualifiedTable(db: MigrationDb, options: MigrateOptions): Promise<string> {
  if (options.table.includes('.')) return quoteName(options.table);
  if (db.dialect === 'sqlite') return `"main".${quoteName(options.table)}`;
  const schema = (await db.query<{ s: string }>('SELECT current_schema() AS s'))[0]?.s ?? 'public';
  return `${quoteName(schema)}.${quoteName(options.table)}`;
}

async function createTable(
  db: MigrationDb,
  table: string,
  base: string,
  baseline: string | undefined,
): Promise<void> {
  const user =
    db.dialect === 'postgres'
      ? ((await db.query<{ u: string }>('SELECT current_user AS u'))[0]?.u ?? '')
      : '';
  const baselineRow = async () => {
    if (baseline === undefined) return;
    await db.exec(
      // Each placeholder once: on SQLite they become `?` in order, so a reused `$2` left the last
      // value unbound and every baseline on a non-empty SQLite database failed (found by test/peers).
      `INSERT INTO ${table} (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES (1, $1, $2, 'BASELINE', $3, NULL, $4, 0, $5)`,
      [baseline, BASELINE_DESCRIPTION, BASELINE_DESCRIPTION, user, true],
    );
  };
  if (db.dialect === 'postgres') {
    await db.transaction(async () => {
      await db.exec(`CREATE TABLE ${table} (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
)`);
      await baselineRow();
      await db.exec(
        `ALTER TABLE ${table} ADD CONSTRAINT ${quoteName(`${base}_pk`)} PRIMARY KEY ("installed_rank")`,
      );
      await db.exec(`CREATE INDEX ${quoteName(`${base}_s_idx`)} ON ${table} ("success")`);
    });
  } else {
    await db.exec(`CREATE TABLE ${table} (
    "installed_rank" INT NOT NULL PRIMARY KEY,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INT,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),
    "execution_time" INT NOT NULL,
    "success" BOOLEAN NOT NULL
)`);
    await baselineRow();
    await db.exec(`CREATE INDEX "main".${quoteName(`${base}_s_idx`)} ON ${quoteName(base)} ("success")`);
  }
}

/**
 * Creates the history table when it is missing, with a BASELINE row for a database that already has
 * tables; returns why Flyway would refuse instead (tables, no history, no baseline).
 */
async function ensureHistoryTable(
  db: MigrationDb,
  table: string,
  options: MigrateOptions,
  notes: string[],
): Promise<string | undefined> {
  if (await tableExists(db, options.table)) return undefined;
  const nonEmpty = await hasTables(db, 'current-schema');
  if (nonEmpty && options.baseline === undefined)
    return `the database has tables but no ${options.table}; Flyway refuses to migrate it. Set migrate.baseline to the version the existing schema corresponds to (what \`flyway baseline\` records)`;
  await createTable(db, table, options.table.split('.').at(-1)!, nonEmpty ? options.baseline : undefined);
  if (nonEmpty)
    notes.push(
      `baseline: recorded version ${options.baseline} for the existing schema (${BASELINE_DESCRIPTION})`,
    );
  return undefined;
}

/** Each applied versioned row against the file of its version: missing, edited, renamed, retyped. */
function checkApplied(
  applied: readonly FlywayRow[],
  versioned: readonly LocalMigration[],
  context: { above: (version: string) => boolean; maxLocal: string | undefined; table: string },
  notes: string[],
): string[] {
  const { above, maxLocal } = context;
  const options = { table: context.table };
  const problems: string[] = [];
  for (const row of applied) {
    const m = versioned.find((x) => compareVersions(x.version!, row.version!) === 0);
    if (!m) {
      if (maxLocal !== undefined && compareVersions(row.version!, maxLocal) > 0)
        notes.push(
          `version ${row.version} is applied but newer than every file here (a future migration; ignored as Flyway does)`,
        );
      else if (above(row.version!))
        problems.push(
          `Detected applied migration not resolved locally: ${row.version} (${row.script}); restore the file, or delete its row if it was removed on purpose`,
        );
      continue;
    }
    const recorded = row.checksum === null ? null : Number(row.checksum);
    if (recorded !== m.checksum) {
      problems.push(
        `Migration checksum mismatch for migration version ${m.version} (${m.script}) -> Applied to database : ${recorded} -> Resolved locally : ${String(m.checksum)}. Either restore the file to what was applied (git checkout -- ${m.script}), or, if the database already matches the new file, record it: UPDATE ${options.table} SET checksum = ${String(m.checksum)} WHERE version = '${row.version}' (what \`flyway repair\` does)`,
      );
    }
    if (row.description !== m.description)
      problems.push(
        `Migration description mismatch for migration version ${m.version}: applied "${row.description}", resolved locally "${m.description}"`,
      );
    if (row.type !== 'SQL')
      problems.push(
        `Migration type mismatch for migration version ${m.version}: applied ${row.type}, resolved locally SQL`,
      );
  }
  return problems;
}
