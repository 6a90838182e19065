// A migration command exiting 3: exit 1, the message names the store and the command, Litestream and
// the processes never started, no process left running.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { useMigrate } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { mountTmpfs, whyNoMount } from '../helpers/mount.js';
import { processesIn } from '../helpers/project.js';
import Database from 'better-sqlite3';

function countTables(file: string, like: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE ?")
      .pluck()
      .get(like) as number;
  } finally {
    db.close();
  }
}

describe('a failing migration stops the boot', () => {
  test('migrate exits 3 → bootseq exits 1 naming migrate:queue and its command', async ({ project }) => {
    const failing = `sh -c 'echo "relation jobs: syntax error near line 3" >&2; exit 3'`;
    useMigrate(project, 'queue', failing);

    const result = await project.run(['up']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Error: migrate:queue failed:');
    expect(result.stderr).toContain(failing);
    expect(result.stderr).toContain('exited with code 3');
    expect(result.stderr).toContain('syntax error near line 3');
    expect(result.stderr).toMatch(/Try: .*nothing was replicated and no process was started/);
    expect(result.output).not.toMatch(/\[litestream\]/);

    const report = project.report();
    const status = (id: string) => report.tasks.find((t) => t.id === id)?.status;
    expect(status('migrate:queue')).toBe('failed');
    expect(report.tasks.find((t) => t.id === 'migrate:queue')?.exit_code).toBe(3);
    expect(status('replicate')).toBe('skipped');
    expect(status('start:worker')).toBe('skipped');
    expect(status('start:web')).toBe('skipped');
    expect(report.shutdown).toEqual([]);
    expect(report.exit_code).toBe(1);
    expect(processesIn(project.dir)).toEqual([]);
    expect(fs.existsSync(project.path('.demo/replica'))).toBe(false);
  });

  test('a stray COMMIT inside a migration is refused before anything runs, naming file and line', async ({
    project,
  }) => {
    expect((await project.run(['up', '--until', 'verify'])).exitCode).toBe(0);
    project.write({
      'examples/demo/db/cache/900_stray_commit.sql':
        'CREATE TABLE stray_a (id INTEGER);\nCOMMIT;\nCREATE TABLE stray_b (id INTEGER);\nCREATE TABLE (;\n',
    });
    const result = await project.run(['migrate', 'cache']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'migrate:cache failed: examples/demo/db/cache has transaction control inside migrations; nothing was migrated:',
    );
    expect(result.stderr).toContain('900_stray_commit.sql:2: COMMIT (transaction control)');
    expect(result.stderr).toMatch(/Try: .*start the file with `-- no-transaction`/);
    const tables = countTables(project.path('.demo/storage/cache.sqlite3'), 'stray_%');
    expect(tables).toBe(0);
  });

  test('a full disk during a migration says so, names the folder, and never prints "applied" for it', async ({
    project,
    skip,
  }) => {
    const why = whyNoMount();
    if (why) skip(why);
    const storage = mountTmpfs(project.path('.demo/storage'), 1024);
    project.onDestroy(() => storage.unmount());
    expect((await project.run(['up', '--until', 'verify'])).exitCode).toBe(0);
    project.write({
      'examples/demo/db/cache/900_big.sql':
        'CREATE TABLE big (b BLOB);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)\nINSERT INTO big SELECT randomblob(4096) FROM n;\n',
    });
    storage.fill();
    const result = await project.run(['migrate', 'cache', '--log-format', 'plain']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /migrate:cache failed: .*the file system holding .*\.demo\/storage is full/,
    );
    expect(result.stderr).toMatch(/Try: free space on the volume holding .*\.demo\/storage/);
    expect(result.output).not.toContain('applied 900_big.sql');
  });
});
