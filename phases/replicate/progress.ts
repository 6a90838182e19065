// How far behind the replica each sqlite store is, measured rather than assumed (docs/litestream.md
// Q8, Q9). A change travels in two hops, and each is observed on its own:
//   local WAL ─(Litestream's sync, every monitor-interval)─▶ shadow WAL ─(replica sync)─▶ replica
// - local → shadow: the database's `-wal` file changes (its mtime moves); Litestream copies it into
//   `.<db>-litestream/generations/<gen>/wal/<index>.wal`, whose mtime then passes it. A frozen or hung
//   Litestream leaves the shadow behind.
// - shadow → replica: each `wal segment written … position=G/I:OFF sz=N` line says the replica now has
//   generation G, WAL index I, up to OFF+N, which is the shadow file's size once it has caught up. A
//   full, read-only or unreachable replica leaves it behind (often without any error line).
// The lag of a store is how long its oldest change not yet in every replica has waited (0 when
// caught up). Past `stall_timeout` it is a stall; past `stall_restart` Litestream is to be restarted.
// The two clocks are not in step: bootseq looks at the files every second, Litestream syncs every
// second on its own ticker, so a look often falls between Litestream's copy into the shadow and its
// write to the replica. Each look therefore only queues what it saw ahead of the replica, and any
// line saying the replica has it (at once, not at the next look) takes it off the queue: the lag is
// the age of the oldest queued change, whatever the phase of the two clocks (docs/litestream.md Q9).
// Only a Litestream that has taken over and is watched can stall: while bootseq itself restarts it
// (backoff, takeover) nothing is alarmed, and a new one gets the whole `stall_timeout` of its own.
// Reads files and lines; never writes, never stops anything itself (the callbacks do).

import fs from 'node:fs';
import type { StopCheck, StoreReplicationView } from '../../core/task.js';
import type { LitestreamDriver, LitestreamLine, Position } from '../../db/litestream/index.js';
import { classify, isBenign, isErrorLine } from './faults.js';

export interface ProgressTarget {
  readonly store: string;
  readonly dbPath: string;
  readonly metaPath: string;
  readonly replicas: readonly string[];
}

export interface Stall {
  readonly store: string;
  readonly lagMs: number;
  /** Which hop is behind: Litestream not copying the WAL, or a replica not taking segments. */
  readonly behind: 'litestream' | 'replica';
  /** The last ERROR line about the store, if Litestream logged one. */
  readonly lastError: LitestreamLine | undefined;
}

export interface ProgressOptions {
  /** Reads Litestream's own copy and its lines (db/litestream). */
  readonly driver: LitestreamDriver;
  readonly stallTimeoutMs: number;
  readonly stallRestartMs: number;
  readonly now?: () => number;
  /** Stores that just crossed stall_timeout. */
  onStall(stalls: readonly Stall[]): void;
  /** A store that was stalled has caught up. */
  onRecover(store: string, stalledMs: number): void;
  /** A store crossed stall_restart: the current Litestream should be replaced (called once per process). */
  onRestartDue(stalls: readonly Stall[]): void;
}

interface Shadow extends Position {
  readonly mtimeMs: number;
}

interface Pending {
  readonly position: Position;
  readonly sinceMs: number;
}

interface StoreProgress {
  readonly target: ProgressTarget;
  readonly driver: LitestreamDriver;
  /** The WAL's mtime at the last look, and when that look was. */
  walSeenMs: number;
  lookedAtMs: number;
  /** Local changes not yet seen in the shadow: `(from, to]` of WAL mtimes between two looks. */
  readonly local: { from: number; to: number }[];
  shadow: Shadow | undefined;
  /** Per replica: how far it has been written, and when. */
  readonly shipped: Map<string, { position: Position; atMs: number }>;
  /**
   * Per replica: what a look saw in the shadow that the replica did not have yet, oldest first, with
   * when it got there; taken off by the first line that says the replica has it.
   */
  readonly pending: Map<string, Pending[]>;
  lastError: LitestreamLine | undefined;
  stalledSince: number | undefined;
}

export function createProgressMonitor(targets: readonly ProgressTarget[], options: ProgressOptions) {
  const now = options.now ?? Date.now;
  const stores = targets.map((target) => newStoreProgress(target, options.driver, now()));
  const byPath = new Map(stores.map((s) => [s.target.dbPath, s]));
  const watch: WatchState = { restartAsked: true, stopErrors: [] };

  return {
    /** Feeds one of Litestream's lines (any process of it). */
    observe: (line: LitestreamLine): void => observeLine(byPath, watch, line, now),

    /** Looks at the files once and reports what crossed a bound. */
    poll(): void {
      const due = lookForStalls(stores, options, now(), watch.watchedSinceMs);
      if (due.length > 0 && !watch.restartAsked) {
        watch.restartAsked = true;
        options.onRestartDue(due);
      }
    },

    /** A Litestream that has taken over is running: a stall may restart it (once). */
    watching(): void {
      watch.restartAsked = false;
      watch.watchedSinceMs = now();
      watch.stoppingAtMs = undefined;
      watch.stopErrors.length = 0;
    },

    /** The watched Litestream is gone (exited, killed, being restarted): nothing stalls until the next one is watched. */
    unwatched(): void {
      watch.watchedSinceMs = undefined;
    },

    lagMs(store: string): number {
      const s = stores.find((x) => x.target.store === store);
      return s ? lagOf(s, now()).lagMs : 0;
    },

    /**
     * Each store as status and health see it, from the last look (at most one poll old) and the lines
     * seen since: generation, when the last change reached every replica, and the lag now.
     */
    views(): StoreReplicationView[] {
      const at = now();
      return stores.map((s) => viewOf(s, at));
    },

    /**
     * Shutdown is about to stop Litestream: what changes from now on (another bootseq's app, in a
     * rolling deploy) is not this Litestream's to ship; what changed until now is.
     */
    markStop(): void {
      const at = now();
      for (const s of stores) look(s, at);
      watch.stopMarkMs = at;
    },

    /**
     * After Litestream stopped at shutdown: did its final sync put every store's last writes in every
     * replica? `killed`: how it was SIGKILLed, if it was (core/exit.ts describeKill).
     */
    verdict(killed: string | undefined): StopCheck {
      const at = now();
      const problems = stores.flatMap((s) => missingAt(s, at, watch.stopMarkMs) ?? []);
      return judge(
        problems,
        watch.stopErrors.filter((l) => !isBenign(l)),
        killed,
      );
    },
  };
}

export type ProgressMonitor = ReturnType<typeof createProgressMonitor>;

/** The monitor's view of the Litestream process it watches, as opposed to each store's progress. */
interface WatchState {
  /** Set once a Litestream that has taken over is watched; a restart is asked for once per process. */
  restartAsked: boolean;
  /** Since when the current Litestream has been watched; undefined while none is (boot, restart, handoff). */
  watchedSinceMs?: number | undefined;
  /** When the watched Litestream said it was shutting down (its own line). */
  stoppingAtMs?: number | undefined;
  /** When shutdown was about to stop it (markStop): what changed after that is not its to ship. */
  stopMarkMs?: number | undefined;
  /** The error lines it logged while shutting down. */
  readonly stopErrors: LitestreamLine[];
}

/** One of Litestream's lines: its shutdown begun, an error about a store, or a replica that holds more now. */
function observeLine(
  byPath: ReadonlyMap<string, StoreProgress>,
  watch: WatchState,
  line: LitestreamLine,
  now: () => number,
): void {
  if (line.msg === 'signal received, litestream shutting down') watch.stoppingAtMs = line.timeMs ?? now();
  const store = line.db ? byPath.get(line.db) : undefined;
  if (isErrorLine(line)) {
    if (watch.stoppingAtMs !== undefined) watch.stopErrors.push(line);
    if (store) store.lastError = line;
  }
  const at = store?.driver.replicaAt(line);
  if (!store || !at) return;
  // A line that only restates where the replica is (v0.5's `replica sync`, every sync) moves the
  // position, not the time of the last change shipped.
  const own = store.driver.shipped(line) !== undefined;
  const before = store.shipped.get(at.replica);
  if (own || !before || !store.driver.isAtOrPast(before.position, at.upTo))
    store.shipped.set(at.replica, { position: at.upTo, atMs: line.timeMs ?? now() });
  settle(store, at.replica);
  if (own) store.lastError = undefined;
}

function newStoreProgress(target: ProgressTarget, driver: LitestreamDriver, at: number): StoreProgress {
  return {
    target,
    driver,
    walSeenMs: walMtime(target.dbPath),
    lookedAtMs: at,
    local: [],
    shadow: driver.localPosition(target.metaPath),
    shipped: new Map(),
    pending: new Map(),
    lastError: undefined,
    stalledSince: undefined,
  };
}

/**
 * Updates every store, reports stalls that begin and end; returns the stalls past stall_restart.
 * A stall is the watched Litestream's: none while none is watched, and never counted from before
 * it was (`watchedSinceMs`). A recovery is reported whoever caught up.
 */
function lookForStalls(
  stores: readonly StoreProgress[],
  options: ProgressOptions,
  at: number,
  watchedSinceMs: number | undefined,
): Stall[] {
  const stalls: Stall[] = [];
  const fresh: Stall[] = [];
  for (const s of stores) {
    look(s, at);
    const { lagMs: trueLagMs, behind } = lagOf(s, at);
    const lagMs = watchedSinceMs === undefined ? 0 : Math.min(trueLagMs, at - watchedSinceMs);
    if (lagMs >= options.stallTimeoutMs) {
      const stall = { store: s.target.store, lagMs, behind, lastError: s.lastError };
      stalls.push(stall);
      // A stall is reported once, when it crosses the bound, not at every later look.
      if (s.stalledSince === undefined) fresh.push(stall);
      s.stalledSince ??= at - lagMs;
    } else if (s.stalledSince !== undefined && trueLagMs < options.stallTimeoutMs) {
      options.onRecover(s.target.store, at - s.stalledSince);
      s.stalledSince = undefined;
    }
  }
  if (fresh.length > 0) options.onStall(fresh);
  return stalls.filter((st) => st.lagMs >= options.stallRestartMs);
}

/** When every replica last took a segment: the oldest of their latest (undefined until each has one). */
function viewOf(s: StoreProgress, at: number): StoreReplicationView {
  return {
    store: s.target.store,
    generation: s.driver.lineage(s.target.metaPath) ?? null,
    lastSyncMs: lastSync(s),
    lagMs: lagOf(s, at).lagMs,
  };
}

function lastSync(s: StoreProgress): number | undefined {
  const times = s.target.replicas.map((r) => s.shipped.get(r)?.atMs);
  if (times.length === 0 || times.some((t) => t === undefined)) return undefined;
  return Math.min(...(times as number[]));
}

/** How long the oldest change not yet in every replica has waited, and which hop holds it. */
function lagOf(s: StoreProgress, at: number): { lagMs: number; behind: Stall['behind'] } {
  const localOldest = s.local[0] ? Math.max(s.local[0].from, s.shadow?.mtimeMs ?? 0) : undefined;
  const replicaOldest = Math.min(...[...s.pending.values()].flatMap((queue) => queue[0]?.sinceMs ?? []));
  if (localOldest === undefined && !Number.isFinite(replicaOldest)) return { lagMs: 0, behind: 'replica' };
  if (localOldest !== undefined && !(replicaOldest < localOldest))
    return { lagMs: Math.max(0, at - localOldest), behind: 'litestream' };
  return { lagMs: Math.max(0, at - replicaOldest), behind: 'replica' };
}

/** The verdict on a stopped Litestream from what each store still lacks and what it said at exit. */
function judge(
  problems: readonly string[],
  errors: readonly LitestreamLine[],
  killed: string | undefined,
): StopCheck {
  // What counts is what reached the replica: an error at exit after everything was shipped (two of
  // Litestream's own writers racing on one segment) loses nothing, and is said so.
  if (problems.length === 0 && killed === undefined) {
    const note = "litestream's final sync put every store's last writes in the replica";
    const said = errors[0] ? `${note}, although it reported: ${errors[0].error ?? errors[0].text}` : note;
    return { ok: true, note: said };
  }
  const why = killed
    ? `litestream ${killed} before its final sync finished`
    : errors.length > 0
      ? `litestream reported: ${errors[0]!.error ?? errors[0]!.text}`
      : "litestream's final sync left writes behind";
  const affected = problems.length > 0 ? problems.join('; ') : 'every store was caught up at its last look';
  return {
    ok: false,
    problem: `replication did not complete at shutdown: ${why}; ${affected}`,
    hint:
      errors.length > 0
        ? classify(errors[0]!).advice
        : 'start the container again once the cause is fixed: Litestream ships what is still in the WAL then; restore a copy (`bootseq rehearse --into DIR`) to see what the replica holds',
  };
}

/** What a store still lacks at shutdown (changes after `mark` are not this Litestream's), or undefined. */
function missingAt(s: StoreProgress, at: number, mark: number | undefined): string | undefined {
  look(s, at);
  if (mark !== undefined) s.local.splice(0, s.local.length, ...s.local.filter((w) => w.from < mark));
  const { lagMs, behind } = lagOf(s, at);
  if (lagMs === 0) return undefined;
  const where =
    behind === 'litestream'
      ? "its last writes never reached litestream's WAL copy"
      : `replica ${[...s.pending].flatMap(([replica, queue]) => (queue.length > 0 ? [replica] : [])).join(', ')} behind`;
  return `${s.target.store} (${where}; writes after ${clock(at - lagMs)} may be missing)`;
}

const MAX_WINDOWS = 300;

/** Updates one store's view of its two hops from the files. */
function look(s: StoreProgress, at: number): void {
  const wal = walMtime(s.target.dbPath);
  if (wal !== s.walSeenMs) {
    // The oldest change since the last look happened after it (the WAL had not moved then): the lag
    // is measured to within one look interval, never from an older quiet time.
    s.local.push({ from: Math.min(Math.max(s.walSeenMs, s.lookedAtMs), wal), to: wal });
    s.walSeenMs = wal;
    // A Litestream frozen for hours adds one window a second: fold the oldest two (the lag only grows).
    if (s.local.length > MAX_WINDOWS) s.local.splice(0, 2, { from: s.local[0]!.from, to: s.local[1]!.to });
  }
  s.lookedAtMs = at;
  s.shadow = s.driver.localPosition(s.target.metaPath) ?? s.shadow;
  const shadow = s.shadow;
  while (s.local[0] && shadow && s.local[0].to <= shadow.mtimeMs) s.local.shift();
  for (const replica of s.target.replicas) {
    settle(s, replica);
    if (!shadow) continue;
    const shipped = s.shipped.get(replica)?.position;
    if (shipped !== undefined && s.driver.isAtOrPast(shipped, shadow)) continue;
    const queue = s.pending.get(replica) ?? [];
    const last = queue.at(-1);
    if (last && s.driver.isAtOrPast(last.position, shadow)) continue;
    queue.push({ position: shadow, sinceMs: Math.min(at, shadow.mtimeMs) });
    // A replica that takes nothing for hours: fold the oldest two (the lag only grows).
    if (queue.length > MAX_WINDOWS) queue.splice(0, 2, { ...queue[1]!, sinceMs: queue[0]!.sinceMs });
    s.pending.set(replica, queue);
  }
}

/**
 * Takes off a replica's queue what it now has: positions at or before the one it was last written
 * to, and anything of an older generation once it has the current one (a new generation starts
 * with a snapshot of the whole database).
 */
function settle(s: StoreProgress, replica: string): void {
  const queue = s.pending.get(replica);
  const shipped = s.shipped.get(replica)?.position;
  if (!queue || !shipped) return;
  const current = s.shadow?.lineage;
  while (
    queue[0] &&
    (s.driver.isAtOrPast(shipped, queue[0].position) ||
      (shipped.lineage === current && queue[0].position.lineage !== current))
  )
    queue.shift();
}

function walMtime(dbPath: string): number {
  try {
    return fs.statSync(`${dbPath}-wal`).mtimeMs;
  } catch {
    return 0;
  }
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
