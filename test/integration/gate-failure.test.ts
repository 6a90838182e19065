// A missing required table: `bootseq verify` exits 1 with that gate FAIL, and `bootseq up` never
// starts Litestream or the app.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect } from 'vitest';
import { setKeys } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { processesIn } from '../helpers/project.js';

describe('a failing gate', () => {
  test('verify exits 1 naming the gate; up stops before replication and the app', async ({ project }) => {
    setKeys(project, ['stores', 'cable', 'require'], { tables: '[cable_messages, sessions]' });

    const up = await project.run(['up']);
    expect(up.exitCode).toBe(1);
    expect(up.output).toContain('[verify:cable] error: FAIL table sessions: missing');
    expect(up.stderr).toContain('Error: verify:cable failed: gate table sessions: missing');
    expect(up.stderr).toContain(
      'Try: fix the failing gates (run `bootseq verify cable` to see every gate); nothing was replicated and no process was started',
    );
    const report = project.report();
    const status = (id: string) => report.tasks.find((t) => t.id === id)?.status;
    expect(status('replicate')).toBe('skipped');
    expect(status('start:web')).toBe('skipped');
    expect(fs.existsSync(project.path('.demo/replica'))).toBe(false);

    const verify = await project.run(['verify']);
    expect(verify.exitCode).toBe(1);
    const rows = verify.output.split('\n').filter((l) => /\[verify:\w+\] (error: )?(ok {2}|FAIL) /.test(l));
    expect(rows.length).toBeGreaterThanOrEqual(4 * 5);
    expect(rows.filter((l) => l.includes('FAIL '))).toHaveLength(1);
    // A migration file the database has not seen is a failing gate until `bootseq migrate` applies it.
    setKeys(project, ['stores', 'cable', 'require'], { tables: '[cable_messages]' });
    project.write({
      'examples/demo/db/cable/20260102000000_add_room.sql':
        'ALTER TABLE cable_messages ADD COLUMN room TEXT;\n',
    });
    const pending = await project.run(['verify', 'cable']);
    expect(pending.exitCode).toBe(1);
    expect(pending.output).toContain(
      '[verify:cable] error: FAIL migrations: 1 pending in examples/demo/db/cable: 20260102000000_add_room.sql (run `bootseq migrate`)',
    );
    expect((await project.run(['migrate', 'cable'])).exitCode).toBe(0);
    const after = await project.run(['verify', 'cable']);
    expect(after.exitCode).toBe(0);
    expect(after.output).toContain(
      '[verify:cable] ok   migrations: none pending or failed (2 in examples/demo/db/cable, rails history in schema_migrations)',
    );
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('a damaged local database: verify says how to get the replica back, and moves nothing itself', async ({
    project,
  }) => {
    expect((await project.run(['up', '--until', 'verify'])).exitCode).toBe(0);
    const file = project.path('.demo/storage/primary.sqlite3');
    const bytes = fs.readFileSync(file);
    // Page 2 onwards overwritten: the header still says SQLite, the b-tree pages are garbage.
    bytes.fill(0xa5, 4096);
    fs.writeFileSync(file, bytes);
    const result = await project.run(['verify', 'primary']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/Error: verify:primary failed: gate (quick_check|open): .*malformed/);
    expect(result.stderr).toContain(
      'Try: .demo/storage/primary.sqlite3 is damaged. bootseq does not move it for you: stop the app, move it aside',
    );
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  test('a damaged leaf page of a table (the schema still reads): exactly the quick_check gate fails, in one line, then the way out', async ({
    project,
  }) => {
    expect((await project.run(['up', '--until', 'verify'])).exitCode).toBe(0);
    const file = project.path('.demo/storage/primary.sqlite3');
    const db = new Database(file, { fileMustExist: true });
    const insert = db.prepare('INSERT INTO notes (body) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 5000; i += 1) insert.run(`note ${i} ${'x'.repeat(60)}`);
    })();
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const leaves = db
      .prepare("SELECT pageno FROM dbstat WHERE name = 'notes' AND pagetype = 'leaf' ORDER BY pageno")
      .pluck()
      .all() as number[];
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    expect(leaves.length).toBeGreaterThan(20);
    // 64 bytes in the middle of a leaf page in the middle of the table: its cells no longer add up.
    const leaf = leaves[Math.floor(leaves.length / 2)]!;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, (leaf - 1) * pageSize + pageSize / 2);
    fs.closeSync(fd);
    const damaged = fs.readFileSync(file);

    const result = await project.run(['verify', 'primary', '--log-format', 'plain']);
    expect(result.exitCode).toBe(1);
    const gates = result.output
      .split('\n')
      .map((l) => /\[verify:primary\] (?:error: )?(ok {2}|FAIL) ([^:]+):/.exec(l))
      .filter((m) => m !== null)
      .map((m) => `${m[1]!.trim()} ${m[2]}`);
    expect(gates).toEqual([
      'ok exists',
      'ok sqlite',
      'ok wal',
      'FAIL quick_check',
      'ok table notes',
      'ok columns notes',
    ]);
    // One line: how many problems, the first ones, how many more; then the way out. Not SQLite's list.
    const stderr = result.stderr.trim().split('\n');
    expect(stderr).toHaveLength(2);
    expect(stderr[0]).toMatch(
      /^Error: verify:primary failed: gate quick_check: \d+ problems? in the database file: [^;]*page \d+[^\n]*(\(and (at least )?\d+ more\))?$/,
    );
    expect(stderr[0]!.length).toBeLessThan(1000);
    expect(stderr[1]).toBe(
      'Try: .demo/storage/primary.sqlite3 is damaged. bootseq does not move it for you: stop the app, move it aside (`mv .demo/storage/primary.sqlite3 .demo/storage/primary.sqlite3.damaged`, with its -wal and -shm) so the next boot restores it from the replica, or put a backup back with `bootseq restore --from-backup PATH primary`',
    );
    expect(stderr[0]).toContain(`page ${leaf}`);
    // The gate's line, the task's end and the error (output holds stderr too): each one line.
    expect(result.output.split('\n').filter((l) => l.includes('quick_check'))).toHaveLength(3);
    expect(fs.readFileSync(file).equals(damaged)).toBe(true);
  });

  test('a database bootseq may not read (mode 000, as an unprivileged user): verify names the file and the permission', async ({
    project,
  }) => {
    expect((await project.run(['up', '--until', 'verify'])).exitCode).toBe(0);
    fs.chmodSync(project.dir, 0o755);
    execFileSync('chown', ['-R', 'nobody', project.dir]);
    const file = project.path('.demo/storage/primary.sqlite3');
    fs.chmodSync(file, 0o000);
    const run = project.start(['verify', 'primary'], {}, ['runuser', '-u', 'nobody', '--']);
    const result = await run.done;
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`${file} cannot be read: EACCES, permission denied`);
    expect(result.stderr).toMatch(
      /Try: give the user bootseq runs as read and write access to \.demo\/storage\/primary\.sqlite3/,
    );
  });

  test('an empty migration file is applied with a warning, not silently', async ({ project }) => {
    project.write({ 'examples/demo/db/cache/900_nothing.sql': '-- to be written\n\n' });
    const result = await project.run(['migrate', 'cache', '--log-format', 'plain']);
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain(
      '[migrate:cache] warn: 900_nothing.sql holds no SQL statement: it is recorded as applied and changes nothing',
    );
  });
});
