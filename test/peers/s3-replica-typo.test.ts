// A typo in an S3 replica's path (issue 31 item 5): Litestream reads it as "no backup yet", so the
// store would start empty beside its real backup. bootseq looks one level up in the bucket and refuses
// the fresh start when a sibling of a close name holds a replica, naming it and the way out; a store
// that is really new (a name close to none) and an empty bucket start fresh as before.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { READY } from '../helpers/project.js';
import { s3Litestream } from '../helpers/s3.js';
import { countRows } from '../helpers/sqlite.js';
import { test } from '../helpers/fixtures.js';

const STORES = ['primary', 'queue', 'cache', 'cable'] as const;

describe('a replica path with a typo on a real S3 server', () => {
  test('primray beside primary refuses the fresh start; allow_fresh_start boots fresh; a new store boots fresh naming its neighbours', async ({
    project,
    s3,
  }) => {
    await s3.createBucket('demo');
    project.write({ 'litestream.yml': s3Litestream(s3) });
    const bootseqYml = fs.readFileSync(project.path('bootseq.yml'), 'utf8');

    // An empty bucket: every store starts fresh, as before.
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(READY, 60_000);
    for (let i = 0; i < 5; i += 1) {
      const res = await fetch(`http://127.0.0.1:${project.port}/notes`, { method: 'POST', body: `n${i}` });
      expect(res.status).toBe(201);
    }
    process.kill(boot.pid, 'SIGTERM');
    const first = await boot.done;
    expect(first.exitCode, first.output.slice(-3000)).toBe(0);
    expect(first.output).toContain('no replica beside s3://demo/primary');
    fs.rmSync(project.path('.demo/storage'), { recursive: true });

    // The typo: refused, naming the store, the configured path, the sibling and both ways out.
    project.write({ 'litestream.yml': s3Litestream(s3, { paths: { primary: 'primray' } }) });
    const refused = await project.run(['up', '--until', 'verify', '--log-format', 'plain']);
    expect(refused.exitCode, refused.output.slice(-3000)).toBe(1);
    expect(refused.output).toContain(
      's3://demo/primray holds no replica, but s3://demo/primary beside it does',
    );
    expect(refused.output).toContain('Not starting primary empty');
    expect(refused.output).toContain('stores.primary.restore.allow_fresh_start: true');
    expect(fs.existsSync(project.path('.demo/storage/primary.sqlite3'))).toBe(false);

    // Allowed for that store: it starts fresh (the others are restored from their replicas).
    project.write({
      'bootseq.yml': bootseqYml.replace(
        '    sqlite: .demo/storage/primary.sqlite3\n',
        '    sqlite: .demo/storage/primary.sqlite3\n    restore: { allow_fresh_start: true }\n',
      ),
    });
    const allowed = await project.run(['up', '--until', 'verify', '--log-format', 'plain']);
    expect(allowed.exitCode, allowed.output.slice(-3000)).toBe(0);
    expect(allowed.output).toContain('starting fresh anyway (stores.primary.restore.allow_fresh_start)');
    expect(countRows(project.path('.demo/storage/primary.sqlite3'), 'notes')).toBe(0);
    const report = project.report();
    expect(report.tasks.find((t) => t.id === 'restore:primary')?.['restored']).toBe(false);
    // queue was restored by one of the two boots (the refused one restores the others too).
    expect(countRows(project.path('.demo/storage/queue.sqlite3'), 'jobs')).toBe(5);

    // A new store beside the others: fresh, with one line naming the replicas beside it.
    project.write({
      'litestream.yml': s3Litestream(s3, { stores: [...STORES, 'reports'] }),
      'bootseq.yml': `${bootseqYml.replace(
        'processes:\n',
        '  reports:\n    sqlite: .demo/storage/reports.sqlite3\n    migrate: { dir: examples/demo/db/cache, history: bootseq }\nprocesses:\n',
      )}`,
    });
    const fresh = await project.run(['up', '--until', 'verify', '--log-format', 'plain']);
    expect(fresh.exitCode, fresh.output.slice(-3000)).toBe(0);
    expect(fresh.output).toContain(
      'replicas beside s3://demo/reports: s3://demo/cable, s3://demo/cache, s3://demo/primary, s3://demo/queue; none has a name close to it',
    );
    expect(project.report().tasks.find((t) => t.id === 'restore:reports')?.['restored']).toBe(false);
  });
});
