// The handoff both drivers share (db/litestream/keeper.ts, through the v0.3 driver): a WAL that
// Litestream left survives bootseq's own connections closing, and no checkpoint starts it over, from
// keepLineage until the handoff is released (docs/litestream-v05.md H, K).
// Real SQLite files in a temp dir; no Litestream.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, test } from 'vitest';
import { v3Driver } from '../../../db/litestream/v3.js';

const require = createRequire(import.meta.url);
let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/**
 * A WAL database with `_litestream_seq` and a WAL left behind by a process that ended without closing
 * its connection, as an exited Litestream leaves it (its exit does not checkpoint).
 */
function walLeftBehind(): string {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-v3-'));
  const file = path.join(dir, 'app.db');
  const script = `
    const db = new (require(process.argv[1]))(process.argv[2]);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER); CREATE TABLE t (x)');
    db.exec('INSERT INTO t VALUES (1)');
    process.kill(process.pid, 'SIGKILL');`;
  spawnSync(process.execPath, ['-e', script, require.resolve('better-sqlite3'), file]);
  expect(fs.existsSync(`${file}-wal`)).toBe(true);
  return file;
}

/** What migrate, seed and verify do: open, write, close. */
function bootseqConnection(file: string): void {
  const db = new Database(file);
  db.exec('INSERT INTO t VALUES (2)');
  db.close();
}

describe('the v0.3 handoff keeps the WAL', () => {
  test('without keepLineage, a bootseq connection closing last deletes the WAL (the generation is lost)', () => {
    const file = walLeftBehind();
    bootseqConnection(file);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  test('from keepLineage to release: the WAL outlives every other connection, and the bump is written', async () => {
    const file = walLeftBehind();
    await v3Driver.keepLineage(file);
    bootseqConnection(file);
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    const handoff = await v3Driver.prepareTakeover(file);
    expect(handoff.bumped).toBe(true);
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    handoff.release();
    handoff.release(); // once only
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT seq FROM _litestream_seq').pluck().get()).toBe(1);
    db.close();
  });

  test('keepLineage on a file SQLite cannot read does not throw (verify reports it)', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-v3-'));
    const file = path.join(dir, 'junk.db');
    fs.writeFileSync(file, 'not a database, not at all, really'.repeat(100));
    await expect(v3Driver.keepLineage(file)).resolves.toBeUndefined();
  });

  test('while kept, no checkpoint restarts the WAL (its salt stays); after release, one does', async () => {
    // docs/litestream-v05.md K: an app's checkpoint in the handoff gap must not start the WAL over.
    const file = walLeftBehind();
    const salt = () => fs.readFileSync(`${file}-wal`).subarray(16, 24).toString('hex');
    const app = new Database(file);
    const checkpointAndWrite = () => {
      app.exec(
        'WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200) INSERT INTO t SELECT i FROM c',
      );
      app.pragma('wal_checkpoint(PASSIVE)');
      app.exec('INSERT INTO t VALUES (3)');
    };
    try {
      await v3Driver.keepLineage(file);
      const before = salt();
      checkpointAndWrite();
      expect(salt()).toBe(before);
      const handoff = await v3Driver.prepareTakeover(file);
      checkpointAndWrite();
      expect(salt()).toBe(before);
      handoff.release();
      checkpointAndWrite();
      expect(salt()).not.toBe(before);
    } finally {
      app.close();
    }
  });
});
