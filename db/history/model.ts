// The shapes shared by the history formats (sqlx.ts, flyway.ts, rails.ts, bootseq.ts) and the runner
// (index.ts). A format knows its tool's file names, checksums, table and rules; the runner knows order,
// locking, transactions and errors.

import fs from 'node:fs';
import path from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { quoteName, type MigrationDb } from '../database.js';

export interface LocalMigration {
  /** As the tool spells it (`20260115000001`, `1.1`); undefined for repeatable migrations. */
  readonly version: string | undefined;
  readonly description: string;
  readonly file: string;
  /** Path relative to the migrations folder, `/` separators (Flyway's `script`). */
  readonly script: string;
  readonly bytes: Buffer;
  /** What runs: the file as UTF-8, a leading BOM removed. */
  readonly sql: string;
  /** As the tool stores it: Buffer (sqlx), signed int (Flyway), hex (bootseq), null (Rails). */
  readonly checksum: Buffer | number | string | null;
  readonly repeatable: boolean;
  readonly transactional: boolean;
}

export interface MigrateOptions {
  readonly table: string;
  readonly baseline: string | undefined;
  readonly outOfOrder: boolean;
  /** Rails: ar_internal_metadata's environment, resolved by config/; undefined for the other formats. */
  readonly environment: string | undefined;
}

interface Plan {
  readonly pending: readonly LocalMigration[];
  /** Drift and history problems; any one stops the boot before a migration runs. */
  readonly problems: readonly string[];
  readonly notes: readonly string[];
}

export interface HistoryFormat {
  readonly name: 'bootseq' | 'sqlx' | 'flyway' | 'rails';
  readonly defaultTable: string;
  /** Reads the folder; problems are file names the tool would refuse. */
  resolve(dir: string): { migrations: LocalMigration[]; problems: string[] };
  /** The checksum as `bootseq checksum` prints it. */
  displayChecksum(bytes: Buffer): string;
  lockKey(db: MigrationDb, options: MigrateOptions): Promise<bigint | undefined>;
  /** Creates the history table if missing (with a baseline row where the tool writes one), reads it, validates. */
  plan(db: MigrationDb, local: readonly LocalMigration[], options: MigrateOptions): Promise<Plan>;
  /**
   * Runs one migration and records it exactly as the tool does, in its own transaction unless the
   * migration opts out, or inside the caller's (`inTransaction`: SQLite, where the runner holds the
   * write lock from reading the history to recording the row).
   */
  apply(
    db: MigrationDb,
    migration: LocalMigration,
    options: MigrateOptions,
    inTransaction: boolean,
  ): Promise<void>;
  /** After the run (Rails: ar_internal_metadata). */
  finish?(db: MigrationDb, options: MigrateOptions): Promise<void>;
}

/** Files of a folder (recursively when `recursive`), sorted, as paths relative to it with `/`. */
export function listFiles(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (recursive) walk(rel);
      } else if (entry.isFile()) out.push(rel);
    }
  };
  walk('');
  return out.sort();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8 decoding (the tools refuse invalid bytes); undefined when invalid. */
export function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Sorts by integer version (sqlx, Rails, bootseq) and reports files that share one. */
export function sortByIntegerVersion(
  migrations: LocalMigration[],
  problems: string[],
  duplicateNote = '',
): void {
  const big = (m: LocalMigration) => BigInt(m.version!);
  migrations.sort((a, b) => (big(a) < big(b) ? -1 : big(a) > big(b) ? 1 : 0));
  for (let i = 1; i < migrations.length; i += 1) {
    const [previous, current] = [migrations[i - 1]!, migrations[i]!];
    if (previous.version === current.version)
      problems.push(
        `${previous.script} and ${current.script} have the same version ${current.version}${duplicateNote}`,
      );
  }
}

/** A migration file as read: its path, bytes and text. */
export interface MigrationFile {
  readonly file: string;
  readonly bytes: Buffer;
  readonly text: string;
}

/**
 * Reads one migration file strictly as UTF-8 (the tools refuse anything else); undefined when it is
 * not, with that said in `problems` (`refusal`: the tool's own consequence, ` (sqlx refuses it)`).
 */
export function readMigrationFile(
  dir: string,
  script: string,
  problems: string[],
  refusal = '',
): MigrationFile | undefined {
  const file = path.join(dir, script);
  const bytes = fs.readFileSync(file);
  const text = decodeUtf8(bytes);
  if (text === undefined) problems.push(`${script}: not valid UTF-8${refusal}`);
  return text === undefined ? undefined : { file, bytes, text };
}

/** A migration of a format with integer versions (sqlx, Rails, bootseq): the version in plain decimal. */
export function integerMigration(
  read: MigrationFile,
  script: string,
  fields: {
    readonly version: string;
    readonly description: string;
    readonly checksum: LocalMigration['checksum'];
    readonly transactional: boolean;
  },
): LocalMigration {
  return {
    version: BigInt(fields.version).toString(),
    description: fields.description,
    file: read.file,
    script,
    bytes: read.bytes,
    sql: withoutBom(read.text),
    checksum: fields.checksum,
    repeatable: false,
    transactional: fields.transactional,
  };
}

export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** zlib CRC-32 of a string's UTF-8 bytes (unsigned). */
export function crc32(text: string | Buffer): number {
  return zlibCrc32(typeof text === 'string' ? Buffer.from(text, 'utf8') : text) >>> 0;
}

export async function currentDatabase(db: MigrationDb): Promise<string> {
  const rows = await db.query<{ name: string }>('SELECT current_database() AS name');
  return rows[0]?.name ?? '';
}

/**
 * The advisory lock key of a tool that derives it from the database's name (sqlx, Rails, bootseq):
 * `multiplier` × crc32(current_database()); none on SQLite, whose write lock serves instead.
 */
export function crc32LockKey(multiplier: bigint): HistoryFormat['lockKey'] {
  return async (db) =>
    db.dialect === 'postgres' ? multiplier * BigInt(crc32(await currentDatabase(db))) : undefined;
}

export async function tableExists(db: MigrationDb, table: string): Promise<boolean> {
  if (db.dialect === 'sqlite') {
    const rows = await db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", [
      table.replace(/^main\./, ''),
    ]);
    return rows.length > 0;
  }
  const rows = await db.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [quoteName(table)]);
  return rows[0]?.t !== null && rows[0]?.t !== undefined;
}
