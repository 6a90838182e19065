// "No replica yet" is a fresh start; every other restore failure stops the boot with exit 1 before
// Litestream replicates anything, and the replica is left byte for byte as it was: starting empty over
// an unreadable backup would later retire it.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { READY, type TmpProject, processesIn } from '../helpers/project.js';
import { litestreamSeries } from '../helpers/litestream.js';
import { ltxFilesOf } from '../helpers/sqlite.js';
import { filesUnder, treeDigest } from '../helpers/tree.js';

async function bootOnceAndLoseTheDatabases(project: TmpProject): Promise<void> {
  const boot = project.start(['up']);
  await boot.waitForLine(READY);
  expect(
    (await fetch(`http://127.0.0.1:${project.port}/notes`, { method: 'POST', body: 'precious' })).status,
  ).toBe(201);
  process.kill(boot.pid, 'SIGTERM');
  expect((await boot.done).exitCode).toBe(0);
  fs.rmSync(project.path('.demo/storage'), { recursive: true });
}

function expectNothingStarted(project: TmpProject, stderr: string): void {
  expect(stderr).toContain('Error: restore:primary failed: `litestream restore');
  expect(stderr).toMatch(
    /Try: the replica \(.*\.demo\/replica\/primary\) could not be restored; nothing was started and the replica was not modified/,
  );
  const report = project.report();
  const status = (id: string) => report.tasks.find((t) => t.id === id)?.status;
  expect(status('restore:primary')).toBe('failed');
  expect(status('replicate')).toBe('skipped');
  expect(status('start:web')).toBe('skipped');
  expect(fs.existsSync(project.path('.demo/storage/primary.sqlite3'))).toBe(false);
  expect(processesIn(project.dir)).toEqual([]);
}

describe('a restore that fails stops the boot and leaves the replica untouched', () => {
  test('a truncated snapshot: exit 1, replicate never started, replica byte-identical', async ({
    project,
  }) => {
    await bootOnceAndLoseTheDatabases(project);
    // v0.3: generations/G/snapshots/*.snapshot.lz4. v0.5: every LTX file, whatever its level: after a
    // short boot the chain may start at the first level-0 file rather than a level-9 snapshot, and a
    // restore reads the files of one plan only (docs/litestream-v05.md E).
    const damaged =
      litestreamSeries() === '0.5'
        ? ltxFilesOf(project.path('.demo/replica/primary'))
        : filesUnder(project.path('.demo/replica/primary')).filter((f) => f.endsWith('.snapshot.lz4'));
    expect(damaged.length).toBeGreaterThan(0);
    for (const file of damaged) fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    const before = treeDigest(project.path('.demo/replica'));

    const result = await project.run(['up']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/cannot restore snapshot|unexpected EOF|lz4/);
    expectNothingStarted(project, result.stderr);
    expect(treeDigest(project.path('.demo/replica'))).toEqual(before);
  });

  test('an unreadable replica (chmod 000, run as an unprivileged user): exit 1, replica byte-identical', async ({
    project,
  }) => {
    await bootOnceAndLoseTheDatabases(project);
    // bootseq runs as nobody: it must be able to work in the project, but not read the replica.
    fs.chmodSync(project.dir, 0o755);
    execFileSync('chown', ['-R', 'nobody', project.dir]);
    fs.chmodSync(project.path('.demo/replica/primary'), 0o000);
    const before = treeDigest(project.path('.demo/replica'));
    try {
      const run = project.start(['up'], {}, ['runuser', '-u', 'nobody', '--']);
      const result = await run.done;
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('permission denied');
      expectNothingStarted(project, result.stderr);
      expect(treeDigest(project.path('.demo/replica'))).toEqual(before);
    } finally {
      fs.chmodSync(project.path('.demo/replica/primary'), 0o755);
    }
  });

  test('no replica at all is a fresh start, not a failure', async ({ project }) => {
    const result = await project.run(['up', '--until', 'verify']);
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain(
      '[restore:primary] no replica of .demo/storage/primary.sqlite3 exists yet',
    );
    expect(project.report().tasks.find((t) => t.id === 'restore:primary')?.['restored']).toBe(false);
  });
});
