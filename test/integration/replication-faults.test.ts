// Replication is never silently absent (docs/litestream.md Q9). Each fault is injected for real, on
// the real Litestream: a frozen process (SIGSTOP), a replica file system that fills up, databases
// on a read-only mount, a full replica and an unreachable S3 endpoint at boot. bootseq must say so,
// replace what can be replaced, and never call a run clean when the last writes did not ship.

import { describe, expect } from 'vitest';
import { editYaml, setKeys, useLitestream, useS3Replica } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { postNotes } from '../helpers/notes.js';
import { litestreamSeries } from '../helpers/litestream.js';
import { closedPort } from '../helpers/ports.js';
import { READY, STORES, type TmpProject, isAlive, pidOf, processesIn } from '../helpers/project.js';
import { mountTmpfs, whyNoMount, type Mount } from '../helpers/mount.js';
import { countRows, restoreCopy } from '../helpers/sqlite.js';

/** A tmpfs at `relative` inside the project, unmounted when the test ends (before the project goes). */
function mountIn(project: TmpProject, relative: string, sizeKb: number, skip: (why: string) => void): Mount {
  const why = whyNoMount();
  if (why) skip(why);
  const mount = mountTmpfs(project.path(relative), sizeKb);
  project.onDestroy(() => mount.unmount());
  return mount;
}

/** Litestream's first ERROR line's own time, and the time bootseq printed its last line. */
function errorToExitMs(output: string): number {
  const error = /time=(\S+) level=ERROR/.exec(output)?.[1];
  const last = /^(\S+Z) (?:error: )?bootseq exits with code/m.exec(output)?.[1];
  if (!error || !last) throw new Error(`no ERROR line or exit line in:\n${output.slice(-3000)}`);
  return Date.parse(last) - Date.parse(error);
}

describe('replication is never silently absent', () => {
  test('a frozen Litestream under writes: the stall is reported, Litestream replaced, no note lost', async ({
    project,
  }) => {
    useLitestream(project, { stall_timeout: '3s', stall_restart: '6s' });
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(READY);
    const frozen = pidOf(project.report(), 'replicate');
    await postNotes(project.port, 10, 'note', 0);
    process.kill(frozen, 'SIGSTOP');
    await postNotes(project.port, 20, 'note', 10);
    // Reported within stall_timeout + 5 s of the first write it holds back.
    await boot.waitForLine(
      /replication stalled: (\w+, )*primary(, \w+)* ha(s|ve) had a change waiting \d+ s for the replica/,
      8000,
    );
    await boot.waitForLine(
      new RegExp(`litestream \\(pid ${frozen}\\) has not replicated .*primary.*: killing it`),
    );
    await boot.waitForLine(/litestream has taken over primary, queue, cache, cable again/);
    expect(isAlive(frozen)).toBe(false);
    await postNotes(project.port, 10, 'note', 30);
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-3000)).toBe(0);
    expect(result.output).toContain("litestream's final sync put every store's last writes in the replica");
    const copy = restoreCopy(project.dir, '.demo/storage/primary.sqlite3', project.path('restored.sqlite3'));
    expect(countRows(copy, 'notes')).toBe(40);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('the replica fills up during the run: the stall is reported, shutdown exits 1, the report is not ok', async ({
    project,
    skip,
  }) => {
    const replica = mountIn(project, '.demo/replica', 2048, skip);
    useLitestream(project, { stall_timeout: '2s', stall_restart: '60s' });
    setKeys(project, ['shutdown'], { replication_grace: '3s' });
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(READY);
    replica.fill();
    await postNotes(project.port, 20, 'note', 0);
    await boot.waitForLine(
      /replication stalled: (\w+, )*primary(, \w+)* ha(s|ve) had a change waiting/,
      10_000,
    );
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    expect(result.stderr).toMatch(/Error: replicate: replication did not complete at shutdown/);
    expect(result.output).toMatch(
      /primary \(replica file behind; writes after \d\d:\d\d:\d\d may be missing\)/,
    );
    const report = project.report();
    expect(report['status']).toBe('failed');
    expect(report['exit_code']).toBe(1);
    const stop = (report.shutdown as { task: string; problem?: string }[]).find(
      (s) => s.task === 'replicate',
    );
    expect(stop?.problem).toMatch(/^replication did not complete at shutdown/);
    expect(result.output).not.toContain('its last writes in the replica');
    // v0.5 retries a failing final sync for 30 s per database, one after the other: bootseq's copy
    // gives it the 3 s grace less a second (config/litestream.ts shutdownSyncTimeout), so primary's
    // retries end after 2 s and the next database's final sync is tried before the SIGKILL.
    if (litestreamSeries() === '0.5')
      expect(result.output).toMatch(
        /msg="shutdown sync failed, retrying[^"]*" system=store db=queue\.sqlite3/,
      );
  });

  test("a full replica at boot fails the boot at Litestream's first error, naming the cause", async ({
    project,
    skip,
  }) => {
    const replica = mountIn(project, '.demo/replica', 64, skip);
    replica.fill();
    const result = await project.run(['up', '--log-format', 'plain']);
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    expect(result.stderr).toMatch(
      /Error: replicate failed: litestream cannot replicate \w+: .*no space left on device/,
    );
    expect(result.stderr).toMatch(/Try: a file system is full \(.*\.demo\/replica.*\): free space on it/);
    expect(errorToExitMs(result.output)).toBeLessThan(5000);
    expect(
      project
        .report()
        .tasks.filter((t) => t.phase === 'start')
        .map((t) => t.status),
    ).toEqual(['skipped', 'skipped']);
  });

  test('databases on a read-only mount fail the boot before Litestream starts, naming the mount', async ({
    project,
    skip,
  }) => {
    const storage = mountIn(project, '.demo/storage', 8192, skip);
    // A container killed mid-run leaves its -wal and -shm files: SQLite can still read the databases.
    const first = project.start(['up']);
    await first.waitForLine(READY);
    for (const pid of [first.pid, ...processesIn(project.dir)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already: bootseq's watchdog kills its children as soon as bootseq dies
      }
    }
    await first.done;
    await expect.poll(() => processesIn(project.dir)).toEqual([]);
    storage.readOnly();
    // The migrations are applied already; only the replication needs to write.
    editYaml(project, 'bootseq.yml', (doc) => {
      for (const store of STORES) expect(doc.deleteIn(['stores', store, 'migrate'])).toBe(true);
    });
    const result = await project.run(['up', '--log-format', 'plain']);
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    expect(result.stderr).toMatch(
      /Error: replicate failed: cannot prepare \w+ for litestream: .*readonly database/,
    );
    expect(result.stderr).toMatch(/Try: .*\.sqlite3 is on a read-only file system/);
    expect(result.output).not.toContain('has taken over');
  });

  test('a replica on a read-only mount fails the boot naming the replica and its mount, not the database', async ({
    project,
    skip,
  }) => {
    const replica = mountIn(project, '.demo/replica', 1024, skip);
    replica.readOnly();
    const result = await project.run(['up', '--log-format', 'plain']);
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    expect(result.stderr).toMatch(
      /Error: replicate failed: litestream cannot replicate \w+: .*read-only file system/,
    );
    expect(result.stderr).toMatch(
      new RegExp(
        `Try: the replica "file" cannot be written: ${project.dir}/\\.demo/replica/\\S+ is on a read-only file system \\(mount ${project.dir}/\\.demo/replica \\(tmpfs\\)\\); mount it read-write`,
      ),
    );
    expect(result.stderr).not.toContain('.sqlite3 is on a read-only file system');
  });

  test('a frozen (SIGSTOPped) Litestream at shutdown is resumed: its final sync ships, well within replication_grace', async ({
    project,
  }) => {
    setKeys(project, ['shutdown'], { replication_grace: '30s' });
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(READY);
    const frozen = pidOf(project.report(), 'replicate');
    await postNotes(project.port, 10, 'note', 0);
    process.kill(frozen, 'SIGSTOP');
    await postNotes(project.port, 10, 'note', 10);
    const sentAt = Date.now();
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    const tookMs = Date.now() - sentAt;
    expect(result.exitCode, result.output.slice(-3000)).toBe(0);
    expect(tookMs).toBeLessThan(15_000);
    expect(result.output).toMatch(
      /\[replicate\] stopped in [\d.]+ m?s: exited with code 0 \(it was frozen by SIGSTOP: bootseq sent SIGCONT after the stop signal so it could act on it\)/,
    );
    expect(result.output).toContain("litestream's final sync put every store's last writes in the replica");
    const stop = (project.report().shutdown as { task: string; ended?: string }[]).find(
      (s) => s.task === 'replicate',
    );
    expect(stop?.ended).toMatch(/^exited with code 0 \(it was frozen by SIGSTOP: bootseq sent SIGCONT/);
    const copy = restoreCopy(project.dir, '.demo/storage/primary.sqlite3', project.path('restored.sqlite3'));
    expect(countRows(copy, 'notes')).toBe(20);
    expect(isAlive(frozen)).toBe(false);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('an unreachable S3 endpoint with the database present fails the boot at once', async ({ project }) => {
    expect((await project.run(['up', '--until', 'verify'])).exitCode).toBe(0);
    const closed = await closedPort(project);
    useS3Replica(project, 'primary', `http://127.0.0.1:${closed.port}`);
    const result = await project.run(['up', '--log-format', 'plain']);
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    if (litestreamSeries() === '0.5') {
      // v0.5 logs nothing for minutes (docs/litestream-v05.md C): bootseq asks the endpoint itself.
      expect(result.stderr).toMatch(
        /Error: restore:primary failed: the replica s3:\/\/backups\/primary at http:\/\/127\.0\.0\.1:\d+ of primary cannot be reached: .*ECONNREFUSED/,
      );
      expect(result.stderr).toMatch(/Try: check its endpoint\/URL in litestream\.yml/);
      expect(project.report().tasks.find((t) => t.id === 'replicate')?.status).toBe('skipped');
      const first = /^(\S+Z) /m.exec(result.output)?.[1];
      const last = /^(\S+Z) (?:error: )?bootseq exits with code/m.exec(result.output)?.[1];
      expect(Date.parse(last!) - Date.parse(first!)).toBeLessThan(5000);
    } else {
      expect(result.stderr).toMatch(
        /Error: replicate failed: litestream cannot replicate primary: .*connection refused/,
      );
      expect(result.stderr).toMatch(/Try: the replica "s3" cannot be reached: check its endpoint/);
      expect(errorToExitMs(result.output)).toBeLessThan(5000);
    }
  });
});
