// The takeover proof (phases/replicate/takeover.ts) with a fake child: the database is real (it holds
// `_litestream_seq`, and this test process has it open, which is what /proc shows for the "child"),
// the generation file is real, and the child's lines are whatever the test prints.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, test } from 'vitest';
import type { Child, ChildExit } from '../../../core/task.js';
import { v3Driver } from '../../../db/litestream/v3.js';
import { awaitTakeover, TakeoverError } from '../../../phases/replicate/takeover.js';

const CURRENT = 'c0ffee00c0ffee00';
const OTHER = 'deadbeefdeadbeef';

function fakeChild(): Child & { print(line: string): void; exit(code: number): void } {
  const listeners = new Set<(line: string, stream: 'stdout' | 'stderr') => void>();
  let settle: (exit: ChildExit) => void = () => undefined;
  let exited = false;
  const done = new Promise<ChildExit>((resolve) => (settle = resolve));
  return {
    pid: process.pid,
    display: 'litestream replicate (fake)',
    exited: done,
    get hasExited() {
      return exited;
    },
    outputTail: () => [],
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => done,
    print(line) {
      for (const l of [...listeners]) l(line, 'stdout');
    },
    exit(code) {
      exited = true;
      settle({ exitCode: code, signal: undefined });
    },
  };
}

describe('awaitTakeover', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanup.splice(0).reverse()) c();
  });

  function database() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-takeover-'));
    const dbPath = path.join(dir, 'app.db');
    const db = new Database(dbPath);
    db.exec('CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)');
    db.close();
    const metaPath = path.join(dir, '.app.db-litestream');
    fs.mkdirSync(metaPath);
    fs.writeFileSync(path.join(metaPath, 'generation'), CURRENT);
    // What /proc/<pid>/fd shows for a Litestream that has opened the database.
    const fd = fs.openSync(dbPath, 'r');
    cleanup.push(() => {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return { store: 'primary', dbPath, metaPath, replicas: ['file'] };
  }

  const written = (dbPath: string, generation: string, msg = 'wal segment written') =>
    `time=2026-12-04T10:00:00.000Z level=INFO msg="${msg}" db=${dbPath} replica=file position=${generation}/00000001:0 sz=4152`;

  test("a write of another generation (an earlier process's) proves nothing: no takeover, and the error says which generation is missing", async () => {
    const target = database();
    const child = fakeChild();
    const waiting = awaitTakeover(child, [target], {
      driver: v3Driver,
      timeoutMs: 400,
      signal: new AbortController().signal,
    });
    child.print(written(target.dbPath, OTHER));
    child.print(written(target.dbPath, OTHER, 'snapshot written'));
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TakeoverError);
    expect((error as Error).message).toContain(`nothing of generation ${CURRENT} written to file yet`);
  });

  test('its own write of the current generation to every replica completes the takeover', async () => {
    const target = database();
    const child = fakeChild();
    const waiting = awaitTakeover(child, [target], {
      driver: v3Driver,
      timeoutMs: 5000,
      signal: new AbortController().signal,
    });
    child.print(written(target.dbPath, OTHER));
    child.print(written(target.dbPath, CURRENT));
    const states = await waiting;
    expect(states.get('primary')).toMatchObject({ generation: CURRENT, hasSeqTable: true });
    expect(states.get('primary')?.doneAtMs).toBeTypeOf('number');
  });

  test('a write to one replica of two is not a takeover of the other', async () => {
    const target = { ...database(), replicas: ['file', 's3'] };
    const child = fakeChild();
    const waiting = awaitTakeover(child, [target], {
      driver: v3Driver,
      timeoutMs: 400,
      signal: new AbortController().signal,
    });
    child.print(written(target.dbPath, CURRENT));
    await expect(waiting).rejects.toThrow(`nothing of generation ${CURRENT} written to s3 yet`);
  });

  test('an ERROR about the database fails it at once, with advice for the cause', async () => {
    const target = database();
    const child = fakeChild();
    const waiting = awaitTakeover(child, [target], {
      driver: v3Driver,
      timeoutMs: 10_000,
      signal: new AbortController().signal,
    });
    child.print(
      `time=2026-12-04T10:00:00.000Z level=ERROR msg="monitor error" db=${target.dbPath} replica=file error="write /r/x: no space left on device"`,
    );
    const error = (await waiting.catch((e: unknown) => e)) as TakeoverError;
    expect(error.message).toMatch(/litestream cannot replicate primary: write \/r\/x: no space left/);
    expect(error.hint).toMatch(/full/);
  });

  test('the process exiting before the takeover fails it, saying how it exited', async () => {
    const target = database();
    const child = fakeChild();
    const waiting = awaitTakeover(child, [target], {
      driver: v3Driver,
      timeoutMs: 10_000,
      signal: new AbortController().signal,
    });
    child.exit(1);
    await expect(waiting).rejects.toThrow(/litestream exited with code 1 before it took over/);
  });
});
