// Replication truth under the faults the first chaos run did not include (issue 24): a second bootseq
// whose config differs (another lease.dir, another config folder) in a PID namespace of its own, where
// the /proc check cannot see the first one's Litestream; database paths through symlinks; the
// replication lease held until the final sync is over; and a lag that stays true under steady writes
// and across handoffs, with stall bounds short enough that a false alarm shows within the test.
// SOAK_SECONDS and HANDOFFS lengthen the last test (the measure: 600 s and 20 handoffs).

import fs from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
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
import { litestreamsWithOpen, watchForTwoReplicators } from '../helpers/replicators.js';
import { countRows, restoreCopy } from '../helpers/sqlite.js';

const NAMESPACE = ['unshare', '--pid', '--fork', '--mount-proc', 'tini', '--'];
const SOAK_SECONDS = Number(process.env['SOAK_SECONDS'] ?? 15);
const HANDOFFS = Number(process.env['HANDOFFS'] ?? 3);
const STORES = ['primary', 'queue', 'cache', 'cable'];
const HISTORY = { primary: 'sqlx', queue: 'flyway', cache: 'bootseq', cable: 'rails' } as const;
const WAITING = /runs in pid \d+ on .*: this bootseq starts the app now/;
const TOOK_OVER = /litestream has taken over primary, queue, cache, cable: this bootseq replicates now/;
const FALSE_ALARM = /replication stalled|killing it so it is restarted|frozen or hung/;

/** The test is the app: it writes notes into the primary store itself, acknowledged at commit. */
function notesWriter(project: TmpProject) {
  let db: Database.Database | undefined;
  let written = 0;
  return {
    write(count: number, label: string): void {
      db ??= new Database(project.path('.demo/storage/primary.sqlite3'), { fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      const insert = db.prepare('INSERT INTO notes (body) VALUES (?)');
      for (let i = 0; i < count; i += 1) insert.run(`${label} ${i}`);
      written += count;
    },
    get written() {
      return written;
    },
    close(): void {
      db?.close();
      db = undefined;
    },
  };
}

function replicaRows(project: TmpProject): number {
  const out = project.path(`restored/${Date.now()}.sqlite3`);
  const rows = countRows(restoreCopy(project.dir, '.demo/storage/primary.sqlite3', out), 'notes');
  fs.rmSync(project.path('restored'), { recursive: true, force: true });
  return rows;
}

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

/** The demo's bootseq.yml with more keys under `litestream:`. */
function withLitestream(project: TmpProject, keys: string): void {
  const text = fs.readFileSync(project.path('bootseq.yml'), 'utf8');
  project.write({
    'bootseq.yml': text.replace(
      'litestream:\n  config: litestream.yml\n',
      `litestream:\n  config: litestream.yml\n${keys}`,
    ),
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
    expect(replicaRows(project)).toBe(notes.written);
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
      withLitestream(project, '  takeover_timeout: 15s\n');
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
      expect(fs.existsSync(project.path(`${real}/.primary.sqlite3-litestream/generation`))).toBe(true);
      const { samples, overlaps } = watch.stop();
      expect(samples).toBeGreaterThan(20);
      expect(overlaps).toEqual([]);
      expect(replicaRows(project)).toBe(notes.written);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );
});

describe('a lag that is true', () => {
  test(
    `steady writes for ${SOAK_SECONDS} s, then ${HANDOFFS} rolling handoffs under writes: no stall alarm, no Litestream killed, the lag under a second or two`,
    {
      timeout: 60_000 + SOAK_SECONDS * 2000 + HANDOFFS * 20_000,
    },
    async ({ project }) => {
      withLitestream(project, '  stall_timeout: 3s\n  stall_restart: 6s\n');
      const notes = notesWriter(project);
      let current = project.start(['up', '--log-format', 'plain']);
      await current.waitForLine(READY);
      const all: Run[] = [current];
      let worstLagMs = 0;
      let writing = true;
      const writer = (async () => {
        while (writing) {
          notes.write(1, 'steady');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const sampleLag = async () => {
        const r = await project.run(['status', '--json']);
        if (r.exitCode === 3) return;
        const status = JSON.parse(r.output) as { stores: { lag_ms: number | null }[] };
        for (const s of status.stores) worstLagMs = Math.max(worstLagMs, s.lag_ms ?? 0);
      };
      const until = Date.now() + SOAK_SECONDS * 1000;
      while (Date.now() < until) {
        await sampleLag();
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      for (let round = 1; round <= HANDOFFS; round += 1) {
        const next = project.start(['up', '--log-format', 'plain'], {
          DEMO_PORT: String(await freePort()),
        });
        all.push(next);
        await next.waitForLine(WAITING, 60_000);
        process.kill(current.pid, 'SIGTERM');
        expect((await current.done).exitCode).toBe(0);
        await next.waitForLine(TOOK_OVER, 30_000);
        current = next;
        // Longer than stall_timeout: a takeover that raises a false alarm does so in this time.
        for (let i = 0; i < 5; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          await sampleLag();
        }
      }
      writing = false;
      await writer;
      notes.close();
      process.kill(current.pid, 'SIGTERM');
      expect((await current.done).exitCode).toBe(0);
      const alarms = all.flatMap((r) => r.lines.filter((l) => FALSE_ALARM.test(l)));
      expect(alarms).toEqual([]);
      expect(worstLagMs).toBeLessThan(2500);
      expect(litestreamsWithOpen(project.dir).size).toBe(0);
      expect(replicaRows(project)).toBe(notes.written);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );
});
