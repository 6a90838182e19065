// The statement splitter at scale and the checks built on it: big files split in linear time with
// the right lines, transaction control inside a migration found with its line, a long SQLite script
// stopped between statements when the run aborts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { transactionControl, type LocalMigration } from '../../../db/history/index.js';
import { splitStatements } from '../../../db/split.js';
import { openSqlite } from '../../../db/sqlite.js';

const STATEMENT = "INSERT INTO t (a, b) VALUES (1, 'text; with a semicolon');\n";
const sqlOf = (mb: number) => STATEMENT.repeat(Math.ceil((mb * 1024 * 1024) / STATEMENT.length));

describe('splitStatements at scale', () => {
  test('8× the file is far from 64× the time, and the last statement keeps its line', () => {
    splitStatements(sqlOf(0.1)); // warm up
    const time = (sql: string) => {
      const start = performance.now();
      const out = splitStatements(sql);
      return { ms: performance.now() - start, out };
    };
    const small = time(sqlOf(1));
    const big = time(sqlOf(8));
    expect(big.out.at(-1)?.line).toBe(big.out.length);
    expect(big.ms).toBeLessThan(Math.max(500, small.ms * 30));
  });
});

function migration(script: string, sql: string, transactional = true): LocalMigration {
  return {
    version: '1',
    description: script,
    file: script,
    script,
    bytes: Buffer.from(sql),
    sql,
    checksum: null,
    repeatable: false,
    transactional,
  };
}

describe('transactionControl', () => {
  test('COMMIT, ROLLBACK, END, SAVEPOINT and BEGIN are named with their lines', () => {
    const sql =
      'CREATE TABLE a (id INT);\nCOMMIT;\nCREATE TABLE b (id INT);\n-- a comment\nrollback;\nSAVEPOINT x;\n';
    expect(transactionControl([migration('002_x.sql', sql)])).toEqual([
      '002_x.sql:2: COMMIT (transaction control)',
      '002_x.sql:5: ROLLBACK (transaction control)',
      '002_x.sql:6: SAVEPOINT (transaction control)',
    ]);
  });

  test('a trigger body (BEGIN … END) and a -- no-transaction file are left alone', () => {
    const trigger = 'CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; END;\n';
    expect(transactionControl([migration('003_t.sql', trigger)])).toEqual([]);
    expect(
      transactionControl([migration('004_n.sql', '-- no-transaction\nBEGIN;\nCOMMIT;\n', false)]),
    ).toEqual([]);
  });
});

describe('a long SQLite script', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function scratch(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-script-'));
    dirs.push(dir);
    return path.join(dir, 'a.db');
  }

  test('lets the event loop run while it executes (a SIGTERM is heard)', async () => {
    const db = await openSqlite(scratch());
    await db.exec('CREATE TABLE t (a INT, b TEXT)');
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    // 131 072 statements take well over one 50 ms turn; without a turn the interval never fires.
    await db.transaction(() => db.execScript(sqlOf(8)));
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(1);
    await db.close();
  });

  test('stops between statements when the run has aborted, and its transaction leaves nothing', async () => {
    const controller = new AbortController();
    const db = await openSqlite(scratch(), { signal: controller.signal });
    await db.exec('CREATE TABLE t (a INT, b TEXT)');
    controller.abort(new Error('interrupted by SIGTERM'));
    await expect(db.transaction(() => db.execScript(sqlOf(8)))).rejects.toThrow('interrupted by SIGTERM');
    const rows = await db.query<{ n: bigint }>('SELECT count(*) AS n FROM t');
    expect(Number(rows[0]?.n)).toBe(0);
    await db.close();
  });
});
