// Litestream's lines read as data, and the lag the progress monitor derives from them and from the
// files: real files in a temp dir (a -wal file, a shadow WAL), a clock the test sets.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { classify } from '../../../phases/replicate/faults.js';
import { isAtOrPast, parseLine } from '../../../db/litestream/lines.js';
import { v3Driver } from '../../../db/litestream/v3.js';
import { createProgressMonitor, type Stall } from '../../../phases/replicate/progress.js';

const GEN = '2231f6f276ff3bd4';

describe('parseLine', () => {
  test('a text line: time, level, message, database, replica, position and size', () => {
    const line = parseLine(
      `time=2026-12-01T14:57:32.489Z level=INFO msg="wal segment written" db=/data/app.db replica=file position=${GEN}/0000000a:16512 elapsed=1.716613ms sz=8240`,
    );
    expect(line).toMatchObject({
      timeMs: Date.parse('2026-12-01T14:57:32.489Z'),
      level: 'INFO',
      msg: 'wal segment written',
      db: '/data/app.db',
      replica: 'file',
      position: { lineage: GEN, index: 10, offset: 16512 },
      size: 8240,
    });
  });

  test('a quoted error with escapes and a wrapped cause becomes one line', () => {
    const line = parseLine(
      'time=2026-12-01T15:01:10.751Z level=ERROR msg="monitor error" db=/d.db replica=s3 error="RequestError: send request failed\\ncaused by: Get \\"http://127.0.0.1:1/b\\": dial tcp 127.0.0.1:1: connect: connection refused"',
    );
    expect(line.level).toBe('ERROR');
    expect(line.error).toBe(
      'RequestError: send request failed caused by: Get "http://127.0.0.1:1/b": dial tcp 127.0.0.1:1: connect: connection refused',
    );
  });

  test('a JSON line (logging.type: json) reads the same', () => {
    const line = parseLine(
      JSON.stringify({
        time: '2026-12-01T14:57:30.510Z',
        level: 'INFO',
        msg: 'snapshot written',
        db: '/d.db',
        replica: 'file',
        position: `${GEN}/00000000:16512`,
        sz: 333,
      }),
    );
    expect(line).toMatchObject({ msg: 'snapshot written', db: '/d.db', size: 333 });
    expect(line.position?.offset).toBe(16512);
  });

  test('a line that is not slog (the AWS SDK) has no level', () => {
    expect(parseLine('2026/12/01 15:01:14 WARN: failed to get session token').level).toBeUndefined();
  });

  test('positions order within a generation only', () => {
    const at = { lineage: GEN, index: 1, offset: 100 };
    expect(isAtOrPast({ lineage: GEN, index: 1, offset: 100 }, at)).toBe(true);
    expect(isAtOrPast({ lineage: GEN, index: 2, offset: 0 }, at)).toBe(true);
    expect(isAtOrPast({ lineage: GEN, index: 1, offset: 99 }, at)).toBe(false);
    expect(isAtOrPast({ lineage: 'ffff', index: 9, offset: 999 }, at)).toBe(false);
  });
});

describe('classify', () => {
  test.each([
    ['sync wal: open /d/.a.db-litestream/x.wal: read-only file system', 'read-only', /read-only file system/],
    [
      'write /r/x.snapshot.lz4.tmp: no space left on device',
      'disk-full',
      /file system is full \(\/r\/x\.snapshot/,
    ],
    ['dial tcp 127.0.0.1:1: connect: connection refused', 'unreachable', /cannot be reached/],
    ['NoCredentialProviders: no valid providers in chain', 'credentials', /credentials/],
    ['NoSuchBucket: The specified bucket does not exist', 'no-bucket', /bucket that does not exist/],
    ['something nobody expected', 'other', /read Litestream's line/],
  ])('%s → %s', (error, cause, advice) => {
    const fault = classify(parseLine(`level=ERROR msg="monitor error" db=/d.db error="${error}"`));
    expect(fault.cause).toBe(cause);
    expect(fault.advice).toMatch(advice);
  });
});

describe('classify: a read-only file system names the path that failed, the replica or the database', () => {
  const where = { dbPath: '/data/app.db', replica: 'the replica "file"' };
  test.each([
    [
      'mkdir /backup/replica/generations: read-only file system',
      /^the replica "file" cannot be written: \/backup\/replica\/generations is on a read-only file system \(mount \/\S* \(\w+\)\); mount it read-write, or point the replica elsewhere in litestream\.yml$/,
    ],
    [
      'open /data/.app.db-litestream/generations/abc/wal/00000001.wal: read-only file system',
      /^\/data\/app\.db is on a read-only file system \(mount \/\S* \(\w+\)\): Litestream writes its WAL copy beside the database/,
    ],
    [
      'open /data/app.db-wal: read-only file system',
      /^\/data\/app\.db is on a read-only file system \(mount /,
    ],
    ['attempt to write a readonly database', /^\/data\/app\.db is on a read-only file system \(mount /],
  ])('%s', (error, advice) => {
    const line = parseLine(`level=ERROR msg="monitor error" db=/data/app.db replica=file error="${error}"`);
    const fault = classify(line, where);
    expect(fault.cause).toBe('read-only');
    expect(fault.advice).toMatch(advice);
  });

  test('the mount named is the one holding the path: a real folder', () => {
    const line = parseLine(
      `level=ERROR msg="monitor error" db=/data/app.db error="mkdir /proc/x: read-only file system"`,
    );
    expect(classify(line, { dbPath: '/data/app.db' }).advice).toContain('(mount /proc (proc))');
  });
});

describe('createProgressMonitor', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function setup(options: { stallTimeoutMs?: number; stallRestartMs?: number } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-progress-'));
    dirs.push(dir);
    const dbPath = path.join(dir, 'app.db');
    const metaPath = path.join(dir, '.app.db-litestream');
    fs.mkdirSync(path.join(metaPath, 'generations', GEN, 'wal'), { recursive: true });
    fs.writeFileSync(path.join(metaPath, 'generation'), GEN);
    let now = 1_000_000;
    const events: string[] = [];
    const stalls: Stall[][] = [];
    const monitor = createProgressMonitor([{ store: 'primary', dbPath, metaPath, replicas: ['file'] }], {
      driver: v3Driver,
      stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
      stallRestartMs: options.stallRestartMs ?? 60_000,
      now: () => now,
      onStall: (s) => {
        stalls.push([...s]);
        events.push(`stall ${s.map((x) => `${x.store}:${x.behind}`).join(',')}`);
      },
      onRecover: (store) => events.push(`recover ${store}`),
      onRestartDue: () => events.push('restart'),
    });
    const touch = (file: string, bytes: number, atMs: number) => {
      fs.writeFileSync(file, Buffer.alloc(bytes));
      fs.utimesSync(file, atMs / 1000, atMs / 1000);
    };
    return {
      monitor,
      dbPath,
      metaPath,
      events,
      stalls,
      set: (ms: number) => (now = ms),
      /** The app writes: the -wal file changes at `atMs`. */
      write: (bytes: number, atMs: number) => touch(`${dbPath}-wal`, bytes, atMs),
      /** Litestream copies the WAL into the shadow at `atMs`. */
      copy: (bytes: number, atMs: number) =>
        touch(path.join(metaPath, 'generations', GEN, 'wal', '00000000.wal'), bytes, atMs),
      /** Litestream logs a segment written to the replica. */
      ship: (from: number, size: number, atMs: number) =>
        monitor.observe(
          parseLine(
            `time=${new Date(atMs).toISOString()} level=INFO msg="wal segment written" db=${dbPath} replica=file position=${GEN}/00000000:${from} sz=${size}`,
          ),
        ),
    };
  }

  test('caught up: no lag, no stall', () => {
    const t = setup();
    t.write(4152, 1_000_000);
    t.copy(4152, 1_000_100);
    t.ship(0, 4152, 1_000_200);
    t.set(1_100_000);
    t.monitor.poll();
    expect(t.monitor.lagMs('primary')).toBe(0);
    expect(t.events).toEqual([]);
  });

  test('Litestream frozen: the WAL moves, the shadow does not; a stall once, then a restart once', () => {
    const t = setup({ stallTimeoutMs: 3000, stallRestartMs: 6000 });
    t.write(4152, 1_000_000);
    t.copy(4152, 1_000_100);
    t.ship(0, 4152, 1_000_200);
    t.monitor.watching();
    t.monitor.poll(); // caught up at 1_000_000
    t.write(8272, 1_001_000);
    t.set(1_001_500);
    t.monitor.poll();
    // The change was at 1_001_000; the lag is known to within the time since the last look.
    expect(t.monitor.lagMs('primary')).toBeGreaterThanOrEqual(500);
    expect(t.monitor.lagMs('primary')).toBeLessThanOrEqual(1500);
    t.set(1_004_200);
    t.monitor.poll();
    t.set(1_005_200);
    t.monitor.poll();
    expect(t.events).toEqual(['stall primary:litestream']);
    t.set(1_007_100);
    t.monitor.poll();
    t.set(1_008_100);
    t.monitor.poll();
    expect(t.events).toEqual(['stall primary:litestream', 'restart']);
    // A new Litestream catches up: the stall ends.
    t.copy(8272, 1_008_200);
    t.ship(4152, 4120, 1_008_300);
    t.set(1_008_400);
    t.monitor.poll();
    expect(t.events.at(-1)).toBe('recover primary');
    expect(t.monitor.lagMs('primary')).toBe(0);
  });

  test('the replica takes nothing: the shadow is ahead of what was shipped, lag counts from then', () => {
    const t = setup({ stallTimeoutMs: 3000 });
    t.monitor.watching();
    t.copy(4152, 1_000_000);
    t.ship(0, 4152, 1_000_050);
    t.monitor.poll();
    t.write(8272, 1_000_900);
    t.copy(8272, 1_001_000);
    t.set(1_002_000);
    t.monitor.poll();
    expect(t.monitor.lagMs('primary')).toBe(1000);
    t.set(1_004_500);
    t.monitor.poll();
    expect(t.stalls[0]?.[0]).toMatchObject({ store: 'primary', behind: 'replica' });
  });

  test('steady writes, and every look falls between the copy into the shadow and the write to the replica: the lag stays under a sync', () => {
    // Litestream's ticker and bootseq's poll both tick every second; measured in the field, the poll
    // landed a few ms after the copy and before the segment line, every time, for minutes.
    const t = setup({ stallTimeoutMs: 3000, stallRestartMs: 6000 });
    t.monitor.watching();
    let size = 0;
    let worst = 0;
    for (let i = 1; i <= 150; i += 1) {
      const tick = 1_000_000 + i * 1000;
      t.write(size + 4120, tick - 400); // the app writes
      t.copy(size + 4120, tick); // Litestream copies the WAL into the shadow
      t.set(tick + 4); // bootseq looks: the shadow is ahead of the replica
      t.monitor.poll();
      worst = Math.max(worst, t.monitor.lagMs('primary'));
      t.ship(size, 4120, tick + 9); // the segment reaches the replica
      size += 4120;
    }
    expect(worst).toBeLessThan(1500);
    expect(t.monitor.lagMs('primary')).toBe(0);
    expect(t.events).toEqual([]);
  });

  test('a snapshot written to the replica catches it up, and a new generation settles what the old one queued', () => {
    const t = setup({ stallTimeoutMs: 3000 });
    t.monitor.watching();
    t.copy(8272, 1_000_000);
    t.set(1_000_100);
    t.monitor.poll();
    expect(t.monitor.lagMs('primary')).toBe(100);
    t.monitor.observe(
      parseLine(
        `level=INFO msg="snapshot written" db=${t.dbPath} replica=file position=${GEN}/00000000:8272 sz=300`,
      ),
    );
    expect(t.monitor.lagMs('primary')).toBe(0);
    // The shadow moves on; then a new generation begins (a restart) and ships its snapshot.
    t.copy(12_392, 1_000_200);
    t.set(1_000_300);
    t.monitor.poll();
    expect(t.monitor.lagMs('primary')).toBe(100);
    const next = 'aaaaaaaaaaaaaaaa';
    fs.mkdirSync(path.join(t.metaPath, 'generations', next, 'wal'), { recursive: true });
    fs.writeFileSync(path.join(t.metaPath, 'generation'), next);
    fs.writeFileSync(path.join(t.metaPath, 'generations', next, 'wal', '00000000.wal'), Buffer.alloc(32));
    t.set(1_000_400);
    t.monitor.poll();
    t.monitor.observe(
      parseLine(
        `level=INFO msg="snapshot written" db=${t.dbPath} replica=file position=${next}/00000000:32 sz=300`,
      ),
    );
    expect(t.monitor.lagMs('primary')).toBe(0);
  });

  test('no stall while no Litestream is watched (bootseq is restarting it); a new one gets the whole stall_timeout', () => {
    const t = setup({ stallTimeoutMs: 3000, stallRestartMs: 6000 });
    t.copy(4152, 1_000_000);
    t.ship(0, 4152, 1_000_050);
    t.monitor.watching();
    t.monitor.poll();
    t.monitor.unwatched(); // it exited; bootseq backs off before the restart
    t.write(8272, 1_000_500);
    for (let at = 1_001_000; at <= 1_010_000; at += 1000) {
      t.set(at);
      t.monitor.poll();
    }
    expect(t.monitor.lagMs('primary')).toBeGreaterThanOrEqual(9000); // the lag is true…
    expect(t.events).toEqual([]); // …but nobody stalls
    t.monitor.watching(); // the restarted one has taken over (and is stuck too)
    t.set(1_012_000);
    t.monitor.poll();
    expect(t.events).toEqual([]);
    t.set(1_013_100);
    t.monitor.poll();
    expect(t.events).toEqual(['stall primary:litestream']);
  });

  test('a quiet database that changes after an hour has no lag from that hour', () => {
    const t = setup({ stallTimeoutMs: 3000 });
    t.write(4152, 1_000_000);
    t.copy(4152, 1_000_100);
    t.ship(0, 4152, 1_000_200);
    t.monitor.poll();
    const later = 1_000_000 + 3_600_000;
    t.set(later);
    t.monitor.poll();
    t.write(8272, later + 100);
    t.set(later + 500);
    t.monitor.poll();
    expect(t.monitor.lagMs('primary')).toBeLessThan(1000);
    expect(t.events).toEqual([]);
  });

  test('verdict: shipped everything → ok; killed (by bootseq or from outside, said so) → not ok; the replica behind → not ok, naming it', () => {
    const ok = setup();
    ok.write(4152, 1_000_000);
    ok.copy(4152, 1_000_100);
    ok.ship(0, 4152, 1_000_200);
    expect(ok.monitor.verdict(undefined)).toMatchObject({ ok: true });
    expect(ok.monitor.verdict('had to be killed')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/litestream had to be killed before its final sync/) as unknown,
    });
    expect(ok.monitor.verdict('was killed by SIGKILL from outside bootseq')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(
        /litestream was killed by SIGKILL from outside bootseq before its final sync/,
      ) as unknown,
    });
    const behind = setup();
    behind.write(8272, 1_000_000);
    behind.copy(8272, 1_000_100);
    behind.ship(0, 4152, 1_000_200);
    behind.set(1_000_500);
    const verdict = behind.monitor.verdict(undefined);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.problem).toMatch(/primary \(replica file behind; writes after/);
  });

  test('verdict: an error during the final sync with writes left behind is not a clean stop; its advice is the hint', () => {
    const t = setup();
    t.write(8272, 1_000_000);
    t.copy(8272, 1_000_100);
    t.ship(0, 4152, 1_000_200);
    t.monitor.watching();
    t.monitor.observe(parseLine('level=INFO msg="signal received, litestream shutting down"'));
    t.monitor.observe(
      parseLine(`level=ERROR msg="error closing db" db=/x error="write /r/y: no space left on device"`),
    );
    t.set(1_000_500);
    const verdict = t.monitor.verdict(undefined);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.hint).toMatch(/file system is full/);
  });

  test('verdict: an error at exit after every write was shipped loses nothing, and says so', () => {
    const t = setup();
    t.write(4152, 1_000_000);
    t.copy(4152, 1_000_100);
    t.ship(0, 4152, 1_000_200);
    t.monitor.watching();
    t.monitor.observe(parseLine('level=INFO msg="signal received, litestream shutting down"'));
    t.monitor.observe(
      parseLine(
        'level=ERROR msg="error closing db" db=/x error="client write: stat /r/x.wal.lz4.tmp: no such file"',
      ),
    );
    const verdict = t.monitor.verdict(undefined);
    expect(verdict).toMatchObject({ ok: true });
    if (verdict.ok) expect(verdict.note).toMatch(/although it reported: client write/);
  });

  test("verdict: writes after the stop began (another bootseq's app, in a rolling deploy) are not this Litestream's", () => {
    const t = setup();
    t.write(4152, 1_000_000);
    t.copy(4152, 1_000_100);
    t.ship(0, 4152, 1_000_200);
    t.set(1_000_500);
    t.monitor.markStop();
    t.write(8272, 1_000_600); // the new container's app keeps writing
    t.set(1_000_900);
    expect(t.monitor.verdict(undefined)).toMatchObject({ ok: true });
  });

  test('verdict: writes before the stop began that never reached the copy are missing', () => {
    const t = setup();
    t.write(4152, 1_000_000);
    t.copy(4152, 1_000_100);
    t.ship(0, 4152, 1_000_200);
    t.set(1_000_300);
    t.monitor.poll();
    t.write(8272, 1_000_400); // this bootseq's own last write
    t.set(1_000_500);
    t.monitor.markStop();
    t.set(1_000_900);
    const verdict = t.monitor.verdict(undefined);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.problem).toMatch(/never reached litestream's WAL copy/);
  });

  test('verdict: the benign "context canceled" of a final checkpoint is a clean stop', () => {
    const t = setup();
    t.copy(4152, 1_000_100);
    t.ship(0, 4152, 1_000_200);
    t.monitor.watching();
    t.monitor.observe(parseLine('level=INFO msg="signal received, litestream shutting down"'));
    t.monitor.observe(
      parseLine(
        'level=ERROR msg="error closing db" db=/x error="checkpoint: mode=PASSIVE err=release read lock: context canceled"',
      ),
    );
    expect(t.monitor.verdict(undefined)).toMatchObject({ ok: true });
  });
});
