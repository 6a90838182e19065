// Replication truth under the faults the first chaos run did not include (issue 24): a second bootseq
// whose config differs (another lease.dir, another config folder) in a PID namespace of its own, where
// the /proc check cannot see the first one's Litestream; database paths through symlinks; the
// replication lease held until the final sync is over; and a lag that stays true under steady writes
// and across handoffs (test/races/lag-soak.test.ts, with the races: it runs for a fixed time).

import fs from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect } from 'vitest';
import { useLitestream } from '../helpers/config.js';
import { litestreamSeries } from '../helpers/litestream.js';
import { test } from '../helpers/fixtures.js';
import { notesWriter, replicaNotes } from '../helpers/notes.js';
import {
  childrenOf,
  freePort,
  isAlive,
  pidOf,
  processesIn,
  READY,
  type Run,
  type TmpProject,
} from '../helpers/project.js';
import { watchForTwoReplicators } from '../helpers/replicators.js';

const NAMESPACE = ['unshare', '--pid', '--fork', '--mount-proc', 'tini', '--'];
const STORES = ['primary', 'queue', 'cache', 'cable'];
const HISTORY = { primary: 'sqlx', queue: 'flyway', cache: 'bootseq', cable: 'rails' } as const;
const WAITING = /runs in pid \d+ on .*: this bootseq starts the app now/;
const TOOK_OVER = /litestream has taken over primary, queue, cache, cable: this bootseq replicates now/;

/** Whether nobody holds the lease on `lock` right now (taken and given back at once when free). */
function leaseIsFree(lock: string): boolean {
  let db: Database.Database | undefined;
  try {
    db = new Database(lock, { fileMustExist: true });
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return true;
  } catch {
    return false;
  } finally {
    db?.close();
  }
}

/** bootseq inside `unshare --pid … tini --`: SIGTERM goes to tini, which forwards it. */
async function stopInNamespace(run: Run): Promise<number | null> {
  const [tini] = childrenOf(run.pid);
  if (tini) process.kill(tini, 'SIGTERM');
  return (await run.done).exitCode;
}

/**
 * Another config for the same databases, in a folder of its own, with its own lease.dir (once the way
 * to get a second Litestream on the same files) and a process that only idles.
 */
function writeOtherConfig(project: TmpProject): void {
  const dbs = STORES.map(
    (s) =>
      `  - path: ../.demo/storage/${s}.sqlite3\n    replicas:\n      - type: file\n        path: ../.demo/replica/${s}\n`,
  ).join('');
  const stores = STORES.map(
    (s) =>
      `  ${s}:\n    sqlite: ../.demo/storage/${s}.sqlite3\n    migrate: { dir: ../examples/demo/db/${s}, history: ${HISTORY[s as keyof typeof HISTORY]} }\n`,
  ).join('');
  project.write({
    'other/litestream.yml': `dbs:\n${dbs}`,
    'other/bootseq.yml': `version: 1\nlitestream: { config: litestream.yml, takeover_timeout: 20s }\nstores:\n${stores}processes:\n  idle:\n    command: node -e "setInterval(() => {}, 1000)"\n    ready: { delay: 100ms }\nlease: { dir: locks }\nreport: { dir: runs }\nshutdown: { grace: 2s, replication_grace: 10s }\n`,
  });
}

describe('one replicator per database file, whatever the config says', () => {
  test('a second bootseq with another lease.dir and config folder, in its own PID namespace, waits: never two Litestreams, no row lost', async ({
    project,
  }) => {
    writeOtherConfig(project);
    const watch = watchForTwoReplicators(project.dir);
    const notes = notesWriter(project);
    const a = project.start(['up', '--log-format', 'plain']);
    await a.waitForLine(READY);
    notes.write(20, 'A');
    const b = project.start(['up', '--config', 'other/bootseq.yml', '--log-format', 'plain'], {}, NAMESPACE);
    const said = await b.waitForLine(new RegExp(`${WAITING.source}|has taken over`), 60_000);
    expect(said).toMatch(WAITING);
    expect(said).toContain(`pid ${a.pid} on`); // the holder named: the other bootseq, not a stray
    notes.write(20, 'A, with B waiting');
    process.kill(a.pid, 'SIGTERM');
    expect((await a.done).exitCode).toBe(0);
    await b.waitForLine(TOOK_OVER, 30_000);
    notes.write(20, 'B');
    notes.close();
    expect(await stopInNamespace(b)).toBe(0);
    const { samples, overlaps } = watch.stop();
    expect(samples).toBeGreaterThan(20);
    expect(overlaps).toEqual([]);
    expect(replicaNotes(project)).toBe(notes.written);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test("the replication lease is held until the old Litestream has exited: never free while it runs, and B takes it only after A's replicate stopped", async ({
    project,
  }) => {
    const watch = watchForTwoReplicators(project.dir);
    const a = project.start(['up', '--log-format', 'json']);
    await a.waitForLine(/"event":"ready"/);
    const litestream = pidOf(project.report(), 'replicate');
    const b = project.start(
      ['up', '--log-format', 'json'],
      { DEMO_PORT: String(await freePort()) },
      NAMESPACE,
    );
    await b.waitForLine(WAITING, 60_000);
    // An auditor on the lease itself, every 2 ms through A's stop: a lease let go while A's Litestream
    // still runs its final sync (10–120 ms) is seen here, whatever B's 100 ms poll happens to catch.
    const lock = project.path('.demo/storage/.primary.sqlite3-bootseq/replicate.lock');
    const early: string[] = [];
    let auditing = true;
    const audit = (async () => {
      while (auditing) {
        if (leaseIsFree(lock) && isAlive(litestream)) early.push(new Date().toISOString());
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    process.kill(a.pid, 'SIGTERM');
    expect((await a.done).exitCode).toBe(0);
    await b.waitForLine(/the replication lease is free after/, 30_000);
    auditing = false;
    await audit;
    expect(early).toEqual([]);
    const events = (run: Run) =>
      run.lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as { time: string; event?: string; task?: string; msg?: string }];
        } catch {
          return [];
        }
      });
    const aStopped = events(a).find((e) => e.event === 'stopped' && e.task === 'replicate');
    const bLease = events(b).find((e) => e.msg?.includes('the replication lease is free after'));
    expect(aStopped, a.lines.slice(-20).join('\n')).toBeDefined();
    expect(bLease).toBeDefined();
    expect(Date.parse(bLease!.time)).toBeGreaterThanOrEqual(Date.parse(aStopped!.time));
    await b.waitForLine(TOOK_OVER, 30_000);
    expect(await stopInNamespace(b)).toBe(0);
    expect(watch.stop().overlaps).toEqual([]);
    expect(processesIn(project.dir)).toEqual([]);
  });
});

describe('database paths through symlinks', () => {
  test.for([['a symlinked storage folder'], ['symlinked database files']])(
    '%s: boots, replicates, hands over to a second bootseq, and the replica has every row',
    async ([kind], { project }) => {
      fs.mkdirSync(project.path('volume'), { recursive: true });
      fs.mkdirSync(project.path('.demo'), { recursive: true });
      if (kind === 'a symlinked storage folder') {
        fs.mkdirSync(project.path('volume/storage'));
        fs.symlinkSync('../volume/storage', project.path('.demo/storage'));
      } else {
        // Dangling until the first boot creates each database where the link points.
        fs.mkdirSync(project.path('.demo/storage'));
        for (const s of STORES)
          fs.symlinkSync(`../../volume/${s}.sqlite3`, project.path(`.demo/storage/${s}.sqlite3`));
      }
      // Short enough that a takeover the old path comparison never sees fails fast.
      useLitestream(project, { takeover_timeout: '15s' });
      const watch = watchForTwoReplicators(project.path('volume'));
      const notes = notesWriter(project);
      const a = project.start(['up', '--log-format', 'plain']);
      await a.waitForLine(READY, 40_000);
      notes.write(10, 'A');
      const b = project.start(['up', '--log-format', 'plain'], { DEMO_PORT: String(await freePort()) });
      await b.waitForLine(WAITING, 60_000);
      process.kill(a.pid, 'SIGTERM');
      expect((await a.done).exitCode).toBe(0);
      await b.waitForLine(TOOK_OVER, 30_000);
      notes.write(10, 'B');
      notes.close();
      process.kill(b.pid, 'SIGTERM');
      const bDone = await b.done;
      expect(bDone.exitCode, bDone.output.slice(-1500)).toBe(0);
      expect(fs.lstatSync(project.path('.demo/storage/primary.sqlite3')).isFile()).toBe(
        kind === 'a symlinked storage folder',
      );
      // Litestream was given the real path: its WAL copies live beside the real file.
      const real = kind === 'a symlinked storage folder' ? 'volume/storage' : 'volume';
      // (v0.3: its `generation` file; v0.5: its `ltx/0` folder, docs/litestream-v05.md A1.)
      const state = litestreamSeries() === '0.5' ? 'ltx/0' : 'generation';
      expect(fs.existsSync(project.path(`${real}/.primary.sqlite3-litestream/${state}`))).toBe(true);
      const { samples, overlaps } = watch.stop();
      expect(samples).toBeGreaterThan(20);
      expect(overlaps).toEqual([]);
      expect(replicaNotes(project)).toBe(notes.written);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );
});
