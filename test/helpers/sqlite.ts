// Reading test databases and restoring replicas with the real litestream binary (LITESTREAM: the npm
// package's, or BOOTSEQ_TEST_LITESTREAM's; litestream.ts).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { litestreamSeries } from './litestream.js';
import { LITESTREAM } from './project.js';

/**
 * The rows of `table`, counted in the table itself (NOT INDEXED): SQLite answers a plain count(*) from
 * the smallest index, which in a damaged restore can still hold rows the table lost (the bench found
 * one on Litestream v0.5: bench/RESULTS.md).
 */
export function countRows(file: string, table: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT count(*) FROM "${table}" NOT INDEXED`).pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Throws unless `PRAGMA integrity_check` says ok (table and indexes agree, every page sound). */
export function expectIntact(file: string): void {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const said = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
    if (said.join() !== 'ok')
      throw new Error(`${file} fails integrity_check: ${said.slice(0, 5).join('; ')}`);
  } finally {
    db.close();
  }
}

/** `litestream restore -o OUT DB` with the project's litestream.yml; returns OUT. */
export function restoreCopy(projectDir: string, dbRelative: string, out: string): string {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  execFileSync(
    LITESTREAM,
    ['restore', '-config', path.join(projectDir, 'litestream.yml'), '-o', out, dbRelative],
    // v0.5 refuses an S3 replica while AWS_CA_BUNDLE is set; bootseq gives it empty (db/litestream/v5.ts).
    { cwd: projectDir, stdio: 'pipe', env: { ...process.env, AWS_CA_BUNDLE: '' } },
  );
  // A restore the tests count rows in must be sound first: a restored copy that SQLite can read but
  // whose table and index disagree is lost data, not a count.
  expectIntact(out);
  return out;
}

/** A v0.3 file replica's generations (the folders under `generations/`); none in a v0.5 one. */
export function generationsOf(replicaDir: string): string[] {
  try {
    return fs.readdirSync(path.join(replicaDir, 'generations'));
  } catch {
    return [];
  }
}

/**
 * The LTX files of a v0.5 file replica or local state folder (`.<db>-litestream`), at one level or all:
 * `ltx/<level>/<minTXID>-<maxTXID>.ltx` (docs/litestream-v05.md A1, A2); none in a v0.3 one.
 */
export function ltxFilesOf(dir: string, level?: number): string[] {
  const root = path.join(dir, 'ltx');
  let levels: string[];
  try {
    levels = level === undefined ? fs.readdirSync(root) : [String(level)];
  } catch {
    return [];
  }
  return levels.flatMap((l) => {
    try {
      return fs
        .readdirSync(path.join(root, l))
        .filter((f) => f.endsWith('.ltx'))
        .map((f) => path.join(root, l, f));
    } catch {
      return [];
    }
  });
}

/**
 * Whether a file replica holds a backup in the files of the Litestream the tests run: a generation
 * (v0.3), LTX files (v0.5). Unverified for v0.5 until the driver lands (issue 27).
 */
export function replicaHasBackup(replicaDir: string): boolean {
  return litestreamSeries() === '0.5'
    ? ltxFilesOf(replicaDir).length > 0
    : generationsOf(replicaDir).length > 0;
}
