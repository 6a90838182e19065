// Before the built-in migrator changes a store it takes a backup (VACUUM INTO under the report dir),
// records it in the run report, keeps the last `backup.keep`; `bootseq restore --from-backup` puts
// one back with the app stopped, and refuses while anything has the database open.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';

function columns(file: string, table: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
  } finally {
    db.close();
  }
}

describe('backups before migrating, and the rollback', () => {
  test('a backup per change, the last 3 kept, restore --from-backup puts one back', async ({ project }) => {
    expect((await project.run(['up', '--until', 'verify'])).exitCode).toBe(0);
    const primary = project.path('.demo/storage/primary.sqlite3');
    const live = new Database(primary);
    live.prepare("INSERT INTO notes (body) VALUES ('before the migration')").run();
    live.close();

    project.write({
      'examples/demo/db/primary/20260102000001_add_title.sql': 'ALTER TABLE notes ADD COLUMN title TEXT;\n',
    });
    const migrated = await project.run(['migrate', 'primary']);
    expect(migrated.exitCode, migrated.output).toBe(0);
    const task = project.report().tasks.find((t) => t.id === 'migrate:primary') as {
      backup?: { path: string; bytes: number };
    };
    expect(task.backup?.path).toMatch(/\.demo\/runs\/backups\/primary\/\d{4}-.*Z\.sqlite3$/);
    expect(task.backup?.bytes).toBe(fs.statSync(task.backup!.path).size);
    expect(columns(task.backup!.path, 'notes')).toEqual(['id', 'body', 'created_at']);
    expect(columns(primary, 'notes')).toEqual(['id', 'body', 'created_at', 'title']);
    expect(migrated.output).toContain(
      `roll back with \`bootseq restore --from-backup ${path.relative(project.dir, task.backup!.path)} primary\``,
    );

    // Nothing pending: no new backup.
    expect((await project.run(['migrate', 'primary'])).exitCode).toBe(0);
    expect(project.report().tasks.find((t) => t.id === 'migrate:primary')).not.toHaveProperty('backup');

    for (let i = 2; i <= 4; i += 1) {
      project.write({
        [`examples/demo/db/primary/2026010200000${i}_more_${i}.sql`]: `ALTER TABLE notes ADD COLUMN extra_${i} TEXT;\n`,
      });
      expect((await project.run(['migrate', 'primary'])).exitCode).toBe(0);
    }
    const kept = fs.readdirSync(project.path('.demo/runs/backups/primary')).sort();
    expect(kept).toHaveLength(3);
    expect(kept).not.toContain(path.basename(task.backup!.path));

    // The rollback is refused while anything holds the database open …
    const holder = new Database(primary);
    try {
      const refused = await project.run([
        'restore',
        '--from-backup',
        path.join(project.path('.demo/runs/backups/primary'), kept[0]!),
        'primary',
      ]);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain(`is open in process ${process.pid}; nothing was changed`);
    } finally {
      holder.close();
    }
    // … and works with the app stopped; the current file is moved aside, not deleted.
    const oldest = path.join(project.path('.demo/runs/backups/primary'), kept[0]!);
    const rolledBack = await project.run(['restore', '--from-backup', oldest, 'primary']);
    expect(rolledBack.exitCode, rolledBack.stderr).toBe(0);
    expect(columns(primary, 'notes')).toEqual(['id', 'body', 'created_at', 'title']);
    const aside = fs
      .readdirSync(project.path('.demo/storage'))
      .find((n) => n.startsWith('primary.sqlite3.before-restore-') && n.endsWith('Z'));
    expect(aside).toBeDefined();
    expect(columns(project.path('.demo/storage', aside!), 'notes')).toContain('extra_4');

    const bad = await project.run(['restore', '--from-backup', project.path('bootseq.yml'), 'primary']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('is not a usable backup');
  });
});
