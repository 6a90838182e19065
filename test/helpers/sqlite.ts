// Reading test databases and restoring replicas with the real litestream binary (LITESTREAM: the npm
// package's, or BOOTSEQ_TEST_LITESTREAM's; litestream.ts).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LITESTREAM } from './project.js';

export function countRows(file: string, table: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number;
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
    { cwd: projectDir, stdio: 'pipe' },
  );
  return out;
}

export function generationsOf(replicaDir: string): string[] {
  try {
    return fs.readdirSync(path.join(replicaDir, 'generations'));
  } catch {
    return [];
  }
}
