// Proof that this Litestream process has taken over every database on this boot (docs/litestream.md
// Q3, Q9): it holds the file open, `_litestream_seq` exists, and it has itself logged a write to every
// replica of the database (v0.3: a snapshot or a WAL segment), in the lineage it replicates now (v0.3:
// the generation `.<db>-litestream/generation` names). The driver (db/litestream) reads the lines and
// the files; what counts as proof is decided here. Files left by an earlier run (a generation file, old snapshots, `_litestream_seq` in a
// restored copy) prove nothing: only this process's own `snapshot written` / `wal segment written`
// lines do, which is why the replicate phase bumps `_litestream_seq` before starting it (a database
// that continues its generation would otherwise give Litestream nothing to write). Any ERROR line
// about a database fails the takeover at once, with advice for its cause. The log line `initialized
// db` proves nothing: Litestream prints it for databases that do not even exist.

import fs from 'node:fs';
import path from 'node:path';
import { describeExit } from '../../core/exit.js';
import { waitFor } from '../../core/wait.js';
import { openSqliteFile, type SqliteFile } from '../../db/index.js';
import type { LitestreamDriver, LitestreamLine } from '../../db/litestream/index.js';
import type { Child } from '../../core/task.js';
import { classify, isErrorLine, isReplacedLine } from './faults.js';
import { linesOf } from './lines.js';

export interface TakeoverTarget {
  readonly store: string;
  readonly dbPath: string;
  readonly metaPath: string;
  /** The names Litestream's lines give the database's replicas (`replica=…`). */
  readonly replicas: readonly string[];
}

export interface TakeoverState {
  /** When this Litestream process was first seen holding the database file open (its init ran). */
  openedAtMs: number | undefined;
  generation: string | undefined;
  hasSeqTable: boolean;
  /** Replicas this process has written the current generation to. */
  readonly written: Set<string>;
  doneAtMs: number | undefined;
}

/** A takeover that cannot complete: what went wrong, what to do, Litestream's last lines. */
export class TakeoverError extends Error {
  readonly hint: string;
  readonly outputTail: readonly string[];
  constructor(message: string, hint: string, outputTail: readonly string[]) {
    super(message);
    this.hint = hint;
    this.outputTail = outputTail;
  }
}

const POLL_MS = 50;

interface Watch {
  /** db path → replica name → generations this process wrote (a snapshot or a WAL segment). */
  readonly written: Map<string, Map<string, Set<string>>>;
  fault: LitestreamLine | undefined;
}

/**
 * Resolves with each database's state once this process has taken over all of them; throws a
 * TakeoverError at the first ERROR line about a database, when the process exits, or at the deadline.
 */
export async function awaitTakeover(
  child: Child,
  targets: readonly TakeoverTarget[],
  options: { readonly driver: LitestreamDriver; readonly timeoutMs: number; readonly signal: AbortSignal },
): Promise<Map<string, TakeoverState>> {
  const { driver } = options;
  const watch: Watch = { written: new Map(), fault: undefined };
  const stop = linesOf(child, driver.parseLine).onLine((line) => observe(driver, watch, line));
  const states = new Map(targets.map((t) => [t.store, newState()]));
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      options.signal.throwIfAborted();
      if (watch.fault) throw faultError(watch.fault, targets, child);
      if (child.hasExited) {
        const exit = await child.exited;
        throw new TakeoverError(
          `litestream ${describeExit(exit)} before it took over every database`,
          'read the [litestream] lines above (replica path, permissions, litestream.yml)',
          child.outputTail(),
        );
      }
      if (await poll(driver, child.pid, targets, states, watch)) return states;
      if (Date.now() > deadline) throw timeoutError(driver, targets, states, options.timeoutMs, child);
      await nextPoll(driver, child, options.signal);
    }
  } finally {
    stop();
  }
}

function newState(): TakeoverState {
  return {
    openedAtMs: undefined,
    generation: undefined,
    hasSeqTable: false,
    written: new Set(),
    doneAtMs: undefined,
  };
}

function observe(driver: LitestreamDriver, watch: Watch, line: LitestreamLine): void {
  if (isReplacedLine(line) || (isErrorLine(line) && line.db !== undefined)) {
    watch.fault ??= line;
    return;
  }
  const shipped = driver.shipped(line);
  if (!shipped) return;
  const byReplica = watch.written.get(shipped.db) ?? new Map<string, Set<string>>();
  const generations = byReplica.get(shipped.replica) ?? new Set<string>();
  generations.add(shipped.upTo.lineage);
  byReplica.set(shipped.replica, generations);
  watch.written.set(shipped.db, byReplica);
}

async function poll(
  driver: LitestreamDriver,
  pid: number,
  targets: readonly TakeoverTarget[],
  states: Map<string, TakeoverState>,
  watch: Watch,
): Promise<boolean> {
  const now = Date.now();
  for (const target of targets) {
    const state = states.get(target.store);
    if (!state || state.doneAtMs !== undefined) continue;
    if (state.openedAtMs === undefined) {
      if (!hasOpened(pid, target.dbPath)) continue;
      state.openedAtMs = now;
    }
    state.generation = driver.lineage(target.metaPath);
    if (!state.generation) continue;
    if (!state.hasSeqTable) {
      state.hasSeqTable = await hasSeqTable(target.dbPath);
      if (!state.hasSeqTable) continue;
    }
    const byReplica = watch.written.get(target.dbPath);
    for (const replica of target.replicas)
      if (byReplica?.get(replica)?.has(state.generation)) state.written.add(replica);
    if (target.replicas.every((r) => state.written.has(r))) state.doneAtMs = now;
  }
  return [...states.values()].every((s) => s.doneAtMs !== undefined);
}

function faultError(line: LitestreamLine, targets: readonly TakeoverTarget[], child: Child): TakeoverError {
  const target = targets.find((t) => t.dbPath === line.db);
  // A line about the replica may not name it (v0.5's `compaction failed`): a database's only one is it.
  const replica = line.replica ?? (target?.replicas.length === 1 ? target.replicas[0] : undefined);
  const fault = classify(line, {
    dbPath: line.db,
    replica: replica ? `the replica "${replica}"` : undefined,
  });
  const what = line.error ?? line.msg ?? line.text;
  return new TakeoverError(
    `litestream cannot replicate ${target?.store ?? line.db ?? 'a database'}: ${what}`,
    fault.advice,
    child.outputTail(),
  );
}

function timeoutError(
  driver: LitestreamDriver,
  targets: readonly TakeoverTarget[],
  states: Map<string, TakeoverState>,
  timeoutMs: number,
  child: Child,
): TakeoverError {
  const missing = targets
    .filter((t) => states.get(t.store)?.doneAtMs === undefined)
    .map((t) => `${t.store} (${describeMissing(driver, t, states.get(t.store)!)})`);
  return new TakeoverError(
    `litestream did not take over ${missing.join(', ')} within ${timeoutMs / 1000}s`,
    'read the [litestream] lines above; raise litestream.takeover_timeout only for large databases or slow replicas',
    child.outputTail(),
  );
}

export function describeMissing(
  driver: LitestreamDriver,
  target: TakeoverTarget,
  state: TakeoverState,
): string {
  if (state.openedAtMs === undefined) return 'litestream has not opened the file yet';
  if (!state.generation) return `nothing in ${path.basename(target.metaPath)} yet`;
  if (!state.hasSeqTable) return 'no _litestream_seq table yet';
  const waiting = target.replicas.filter((r) => !state.written.has(r));
  const of = driver.describeLineage(state.generation);
  return `nothing${of === undefined ? '' : ` of ${of}`} written to ${waiting.join(', ')} yet`;
}

/**
 * Waits POLL_MS, or less: a write to a replica is the last signal of a takeover, so the next check
 * runs at once instead of up to POLL_MS later.
 */
async function nextPoll(driver: LitestreamDriver, child: Child, signal: AbortSignal): Promise<void> {
  await waitFor<void>(
    signal,
    (wake) =>
      linesOf(child, driver.parseLine).onLine((line) => {
        if (driver.shipped(line)) wake();
      }),
    { ms: POLL_MS, timeout: () => undefined, aborted: () => undefined },
  );
}

async function hasSeqTable(dbPath: string): Promise<boolean> {
  let db: SqliteFile | undefined;
  try {
    db = await openSqliteFile(dbPath, { readonly: true });
    return (
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_litestream_seq'").get() !==
      undefined
    );
  } catch {
    return false;
  } finally {
    db?.close();
  }
}

/** Whether process `pid` has `file` open (Linux /proc); true where /proc cannot tell. */
function hasOpened(pid: number, file: string): boolean {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return !fs.existsSync('/proc/self/fd');
  }
  for (const fd of fds) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}
