// Whether a replica can restore its store (docs/litestream.md Q12): `litestream snapshots` and
// `litestream wal` output as Litestream v0.3.13 prints it (copied from docs/litestream-lab/
// q10-replica-deleted.sh runs), the verdict on it, the checker over a fake `list` and real generation
// files in a temp dir, and the shutdown verdict that includes it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { Child, ChildExit, CommandSpec } from '../../../core/task.js';
import { withRestorability } from '../../../phases/replicate/restorable.js';
import { judgeReplica, parseSnapshots, parseWalSegments } from '../../../db/litestream/v3-restorable.js';
import { v3Driver } from '../../../db/litestream/v3.js';
import {
  createSnapshotChecker,
  describeFinding,
  litestreamLister,
  type Finding,
} from '../../../phases/replicate/snapshots.js';

const GEN = '3d5e1e16a1982edf';
const NEW = 'd40d12a1ec05ce56';

const SNAPSHOTS = [
  'replica  generation        index  size  created',
  `file     ${GEN}  0      4466  2026-12-04T22:12:10Z`,
  `file     ${NEW}  0      5333  2026-12-04T22:12:16Z`,
];
const EMPTY = ['replica  generation  index  size  created'];
const WAL_WITHOUT_START = [
  'replica  generation        index  offset   size  created',
  `file     ${GEN}  0      214272   1527  2026-12-04T22:11:56Z`,
  `file     ${GEN}  0      292552   1694  2026-12-04T22:11:57Z`,
];
const WAL_WHOLE = [
  'replica  generation        index  offset  size  created',
  `file     ${NEW}  0      0       2001  2026-12-04T22:12:16Z`,
  `file     ${NEW}  0      1792232 1533  2026-12-04T22:12:17Z`,
  `file     ${NEW}  1      0       412   2026-12-04T22:12:18Z`,
];
const S3_REFUSED = [
  'time=2026-12-04T22:13:40.653Z level=ERROR msg="cannot determine snapshots" error="cannot fetch generations: RequestError: send request failed\\ncaused by: Get \\"http://127.0.0.1:1/b?delimiter=%2F&prefix=p%2Fgenerations%2F\\": dial tcp 127.0.0.1:1: connect: connection refused"',
  'replica  generation  index  size  created',
];

describe('parseSnapshots and parseWalSegments', () => {
  test('rows of every generation, the header skipped', () => {
    expect(parseSnapshots(SNAPSHOTS)).toEqual({
      rows: [
        { replica: 'file', generation: GEN, index: 0, size: 4466, created: '2026-12-04T22:12:10Z' },
        { replica: 'file', generation: NEW, index: 0, size: 5333, created: '2026-12-04T22:12:16Z' },
      ],
      errors: [],
    });
    expect(parseSnapshots(EMPTY)).toEqual({ rows: [], errors: [] });
    expect(parseWalSegments(WAL_WITHOUT_START).rows.map((r) => [r.index, r.offset, r.size])).toEqual([
      [0, 214272, 1527],
      [0, 292552, 1694],
    ]);
  });

  test('an ERROR line instead of rows (S3 unreachable: exit 0) is an error, not an empty replica', () => {
    const listing = parseSnapshots(S3_REFUSED);
    expect(listing.rows).toEqual([]);
    expect(listing.errors).toEqual([
      'cannot fetch generations: RequestError: send request failed caused by: Get "http://127.0.0.1:1/b?delimiter=%2F&prefix=p%2Fgenerations%2F": dial tcp 127.0.0.1:1: connect: connection refused',
    ]);
  });

  test('a JSON log line (logging.type: json) and a line it cannot read are errors too', () => {
    expect(
      parseSnapshots([
        '{"time":"2026-12-04T22:13:40Z","level":"ERROR","msg":"cannot determine snapshots","error":"boom"}',
        ...EMPTY,
      ]).errors,
    ).toEqual(['boom']);
    expect(parseSnapshots([...EMPTY, 'file  not-a-generation  0  1  x']).errors).toEqual([
      'unreadable line: file  not-a-generation  0  1  x',
    ]);
  });
});

describe('judgeReplica', () => {
  test('restorable: the generation has a snapshot, and every WAL index of it starts at 0', () => {
    expect(judgeReplica(NEW, parseSnapshots(SNAPSHOTS))).toEqual({ state: 'restorable' });
    expect(judgeReplica(NEW, parseSnapshots(SNAPSHOTS), parseWalSegments(WAL_WHOLE))).toEqual({
      state: 'restorable',
    });
  });

  test('the snapshot is gone (the replica directory deleted while Litestream runs)', () => {
    expect(judgeReplica(GEN, parseSnapshots(EMPTY))).toEqual({
      state: 'unrestorable',
      reason: 'its snapshot is gone',
      detail: `generation ${GEN} has no snapshot in it`,
    });
    // Snapshots of other generations do not count: the restore takes the newest generation.
    expect(judgeReplica('aaaaaaaaaaaaaaaa', parseSnapshots(SNAPSHOTS)).state).toBe('unrestorable');
  });

  test('a snapshot again after a restart in the same generation, but the start of the WAL is gone', () => {
    expect(judgeReplica(GEN, parseSnapshots(SNAPSHOTS), parseWalSegments(WAL_WITHOUT_START))).toEqual({
      state: 'unrestorable',
      reason: 'the start of its WAL is gone',
      detail: `generation ${GEN}'s WAL index 00000000 begins at offset 214272, not 0`,
    });
  });

  test('Litestream could not tell: unknown, never unrestorable', () => {
    expect(judgeReplica(GEN, parseSnapshots(S3_REFUSED))).toMatchObject({ state: 'unknown' });
    expect(
      judgeReplica(GEN, parseSnapshots(SNAPSHOTS), { rows: [], errors: ['litestream wal did not answer'] }),
    ).toEqual({ state: 'unknown', why: 'litestream wal did not answer' });
  });
});

describe('createSnapshotChecker', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function setup(listings: Record<string, string[]>) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-snapshots-'));
    dirs.push(dir);
    const metaPath = path.join(dir, '.a.sqlite3-litestream');
    fs.mkdirSync(metaPath);
    fs.writeFileSync(path.join(metaPath, 'generation'), GEN);
    const calls: string[] = [];
    const found: Finding[][] = [];
    const restored: string[] = [];
    const unknown: string[] = [];
    const checker = createSnapshotChecker(
      [{ store: 'a', dbPath: path.join(dir, 'a.sqlite3'), metaPath, replicas: ['file'] }],
      {
        driver: v3Driver,
        intervalMs: 10,
        confirmMs: 1,
        isActive: () => true,
        list: (args) => {
          calls.push(args[0]!);
          return Promise.resolve({ lines: listings[args[0]!] ?? [] });
        },
        onUnrestorable: (f) => found.push([...f]),
        onRestorable: (store, replica, generation) => restored.push(`${store}/${replica}/${generation}`),
        onUnknown: (store, replica, why) => unknown.push(`${store}/${replica}: ${why}`),
      },
    );
    return { checker, calls, found, restored, unknown, metaPath, listings };
  }

  test('reports a generation without a snapshot once, confirmed by a second look, and its recovery', async () => {
    const t = setup({ snapshots: EMPTY, wal: [] });
    t.checker.watching();
    await expect.poll(() => t.found.length).toBe(1);
    expect(t.found[0]).toEqual([
      {
        store: 'a',
        replica: 'file',
        generation: GEN,
        reason: 'its snapshot is gone',
        detail: `generation ${GEN} has no snapshot in it`,
      },
    ]);
    expect(describeFinding(t.found[0]![0]!)).toBe(
      `the replica "file" of a cannot be restored: its snapshot is gone (generation ${GEN} has no snapshot in it)`,
    );
    expect(t.checker.views('a')).toEqual([
      { name: 'file', restorable: false, reason: 'its snapshot is gone', unrestorableTotal: 1 },
    ]);
    // Still the same generation: not reported again.
    const calls = t.calls.length;
    await expect.poll(() => t.calls.length).toBeGreaterThan(calls + 4);
    expect(t.found).toHaveLength(1);

    // A new generation with its snapshot: restorable again, said once.
    t.checker.renewLater(t.found[0]!);
    expect(t.checker.renewGenerations()).toEqual([{ store: 'a', file: path.join(t.metaPath, 'generation') }]);
    expect(fs.existsSync(path.join(t.metaPath, 'generation'))).toBe(false);
    fs.writeFileSync(path.join(t.metaPath, 'generation'), NEW);
    t.listings['snapshots'] = SNAPSHOTS;
    t.listings['wal'] = WAL_WHOLE;
    t.checker.watching();
    await expect.poll(() => t.restored).toEqual([`a/file/${NEW}`]);
    expect(t.checker.views('a')).toEqual([
      { name: 'file', restorable: true, reason: null, unrestorableTotal: 1 },
    ]);
    expect(await t.checker.final()).toEqual([]);
  });

  test('the WAL is listed after each takeover and at shutdown, not at every check', async () => {
    const t = setup({ snapshots: SNAPSHOTS, wal: WAL_WHOLE });
    t.checker.watching();
    await expect.poll(() => t.calls.filter((c) => c === 'snapshots').length).toBeGreaterThan(3);
    expect(t.calls.filter((c) => c === 'wal')).toHaveLength(1);
    t.listings['wal'] = WAL_WITHOUT_START;
    t.listings['snapshots'] = SNAPSHOTS;
    const findings = await t.checker.final();
    expect(findings.map((f) => f.reason)).toEqual(['the start of its WAL is gone']);
    // Stopped: no check runs after final().
    const calls = t.calls.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(t.calls).toHaveLength(calls);
  });

  test('a snapshot Litestream is writing right now is not a missing one', async () => {
    const t = setup({ snapshots: EMPTY, wal: [] });
    t.checker.watching();
    t.checker.observe({
      timeMs: undefined,
      level: 'INFO',
      msg: 'write snapshot',
      db: path.join(path.dirname(t.metaPath), 'a.sqlite3'),
      replica: 'file',
      position: undefined,
      size: undefined,
      generation: undefined,
      error: undefined,
      fields: {},
      text: '',
    });
    await new Promise((r) => setTimeout(r, 80));
    expect(t.calls).toEqual([]);
    expect(t.found).toEqual([]);
    expect(t.checker.views('a')[0]!.restorable).toBeNull();
  });

  test('Litestream cannot be asked (S3 unreachable): said once, nothing found, the state stays unknown', async () => {
    const t = setup({ snapshots: S3_REFUSED, wal: [] });
    t.checker.watching();
    await expect.poll(() => t.calls.length).toBeGreaterThan(3);
    expect(t.found).toEqual([]);
    expect(t.unknown).toEqual([
      'a/file: cannot fetch generations: RequestError: send request failed caused by: Get "http://127.0.0.1:1/b?delimiter=%2F&prefix=p%2Fgenerations%2F": dial tcp 127.0.0.1:1: connect: connection refused',
    ]);
    expect(t.checker.views('a')[0]!.restorable).toBeNull();
    expect(await t.checker.final()).toEqual([]);
  });
});

describe('withRestorability: the shutdown verdict', () => {
  const finding: Finding = {
    store: 'queue',
    replica: 'file',
    generation: GEN,
    reason: 'its snapshot is gone',
    detail: `generation ${GEN} has no snapshot in it`,
  };

  test('everything shipped, but a replica cannot be restored: a failure, not "final sync put every…"', () => {
    const verdict = withRestorability(
      { ok: true, note: "litestream's final sync put every store's last writes in the replica" },
      [finding],
      ['queue'],
    );
    expect(verdict).toEqual({
      ok: false,
      problem: `replication did not complete at shutdown: the replica "file" of queue cannot be restored: its snapshot is gone (generation ${GEN} has no snapshot in it)`,
      hint: 'start bootseq again: litestream then starts over with a new snapshot of queue (bootseq removed its generation file), and bootseq checks that it can be restored; until then this replica cannot restore queue, so keep the database file',
    });
  });

  test('both: writes left behind and a replica that cannot be restored', () => {
    const verdict = withRestorability(
      { ok: false, problem: 'replication did not complete at shutdown: x', hint: 'do y' },
      [finding],
      [],
    );
    expect(verdict).toMatchObject({
      ok: false,
      problem: `replication did not complete at shutdown: x; and the replica "file" of queue cannot be restored: its snapshot is gone (generation ${GEN} has no snapshot in it)`,
    });
    expect(verdict.ok || verdict.hint).toMatch(/^do y; then start bootseq again/);
  });

  test('nothing found: the verdict as it was', () => {
    const ok = { ok: true as const, note: 'n' };
    expect(withRestorability(ok, [], [])).toBe(ok);
  });
});

describe('litestreamLister', () => {
  /** A child that prints `lines`, then exits with `code`, or hangs until stopped when code is undefined. */
  function fakeStart(lines: string[], code: number | undefined, specs: CommandSpec[]) {
    return (spec: CommandSpec): Promise<Child> => {
      specs.push(spec);
      let exit!: (e: ChildExit) => void;
      const exited = new Promise<ChildExit>((resolve) => (exit = resolve));
      const listeners: ((line: string, stream: 'stdout' | 'stderr') => void)[] = [];
      setTimeout(() => {
        for (const l of lines) for (const f of listeners) f(l, 'stdout');
        if (code !== undefined) exit({ exitCode: code, signal: undefined });
      }, 1);
      return Promise.resolve({
        pid: 1,
        display: 'litestream',
        exited,
        hasExited: false,
        outputTail: () => [],
        onLine: (f: (line: string, stream: 'stdout' | 'stderr') => void) => {
          listeners.push(f);
          return () => undefined;
        },
        stop: (_graceMs: number, signal?: NodeJS.Signals) => {
          exit({ exitCode: undefined, signal: signal ?? 'SIGTERM' });
          return exited;
        },
      } as Child);
    };
  }

  test('runs `litestream CMD -config CONFIG ARGS` unrelayed and returns its lines', async () => {
    const specs: CommandSpec[] = [];
    const list = litestreamLister(fakeStart(SNAPSHOTS, 0, specs), '/bin/litestream', '/p/litestream.yml');
    expect(await list(['snapshots', '-replica', 'file', '/p/a.sqlite3'], 1000)).toEqual({ lines: SNAPSHOTS });
    expect(specs[0]!.command).toEqual({
      file: '/bin/litestream',
      args: ['snapshots', '-config', '/p/litestream.yml', '-replica', 'file', '/p/a.sqlite3'],
    });
    expect(specs[0]!.relay?.('anything')).toBe(false);
  });

  test('a call that does not answer in time is killed and says so; a non-zero exit too', async () => {
    const hangs = litestreamLister(fakeStart([], undefined, []), 'ls', 'c.yml');
    expect(await hangs(['snapshots', 'db'], 20)).toEqual({
      lines: [],
      failed: 'litestream snapshots did not answer within 0.02 s',
    });
    const fails = litestreamLister(fakeStart(['time=x level=ERROR msg="failed to run"'], 1, []), 'ls', 'c');
    expect((await fails(['wal', 'db'], 1000)).failed).toBe(
      'litestream wal exited with code 1: time=x level=ERROR msg="failed to run"',
    );
  });
});
