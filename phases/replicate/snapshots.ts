// Whether each replica can still be restored, asked of Litestream itself (docs/litestream.md Q12). A
// replica that takes every WAL segment can still be useless: its directory deleted while Litestream runs
// leaves the current generation without a snapshot, and Litestream logs nothing and never writes one
// again until it restarts; a restart in the same generation writes a snapshot but the WAL before it is
// gone, and the restore still fails (`missing initial wal segment`). Only a new generation restores.
// So, for every store and replica, the current generation (`.<db>-litestream/generation`) must have a
// snapshot (`litestream snapshots`) and, after each takeover and at shutdown, every WAL index of it must
// start at offset 0 (`litestream wal -generation`). Each call is bounded (LIST_TIMEOUT_MS, and the
// shorter STOP_TIMEOUT_MS at shutdown, which already waited for Litestream's final sync): an S3 that
// accepts and never answers would hang it (Q12). Asking Litestream costs 22–33 ms a call and works for
// S3 as for files; reading the file layout would cover file replicas only.
// Reports what it finds through callbacks; never stops Litestream itself. The one file it changes is
// the `generation` file, and only when asked, between a Litestream's exit and the next one's start
// (what Litestream itself does when it cannot continue a generation: Q12).

import type { Child, CommandSpec, ReplicaRestorabilityView } from '../../core/task.js';
import type {
  ListCommand,
  LitestreamDriver,
  LitestreamLine,
  Restorability,
} from '../../db/litestream/index.js';

/** How long one `litestream snapshots` or `litestream wal` may take before it is killed (unknown). */
export const LIST_TIMEOUT_MS = 10_000;
/** The same at shutdown, where an orchestrator's own grace period is running out. */
export const STOP_TIMEOUT_MS = 5000;
/**
 * A generation found without a snapshot is looked at once more this much later before it counts:
 * a new generation's first snapshot is written a moment after its `generation` file.
 */
const CONFIRM_MS = 2000;

export interface CheckTarget {
  readonly store: string;
  /** The path Litestream's lines name the database by (`db=`). */
  readonly dbPath: string;
  /** The path litestream.yml names it by: what `litestream snapshots` is asked about (default dbPath). */
  readonly listPath?: string;
  readonly metaPath: string;
  readonly replicas: readonly string[];
}

/** A replica whose current generation cannot be restored. */
export interface Finding {
  readonly store: string;
  readonly replica: string;
  readonly generation: string;
  readonly reason: string;
  readonly detail: string;
}

export type { ListCommand } from '../../db/litestream/index.js';

export interface SnapshotCheckOptions {
  /** Asks the replica and reads the lineage (db/litestream). */
  readonly driver: LitestreamDriver;
  /** Time between two periodic checks (from the end of one to the start of the next). */
  readonly intervalMs: number;
  readonly list: ListCommand;
  /** Whether a Litestream that has taken over runs now (checks pause while it restarts). */
  readonly isActive: () => boolean;
  /** Replicas found unrestorable by a periodic check (each once per generation). */
  onUnrestorable(findings: readonly Finding[]): void;
  /** A replica that was unrestorable can be restored again. */
  onRestorable(store: string, replica: string, generation: string): void;
  /** Litestream could not tell (an ERROR line, a timeout): said once until a check tells again. */
  onUnknown?(store: string, replica: string, why: string): void;
  readonly confirmMs?: number;
}

interface ReplicaState {
  restorable: boolean | null;
  reason: string | null;
  /** The generation last reported unrestorable (reported once per generation). */
  reportedGeneration: string | undefined;
  unrestorableTotal: number;
  /** This process logged `write snapshot` and not yet `snapshot written` (or an error). */
  snapshotting: boolean;
  /** An unknown result was said since the last definite one. */
  unknownSaid: boolean;
}

function newReplicaState(): ReplicaState {
  return {
    restorable: null,
    reason: null,
    reportedGeneration: undefined,
    unrestorableTotal: 0,
    snapshotting: false,
    unknownSaid: false,
  };
}

/** A replica's state after a verdict: a finding when it cannot be restored, 'unknown' when Litestream could not tell. */
function applyVerdict(
  state: ReplicaState,
  target: CheckTarget,
  replica: string,
  seen: { generation: string; verdict: Restorability },
  options: SnapshotCheckOptions,
): Finding | 'unknown' | undefined {
  const { generation, verdict } = seen;
  if (verdict.state === 'unknown') {
    if (!state.unknownSaid) options.onUnknown?.(target.store, replica, verdict.why);
    state.unknownSaid = true;
    return 'unknown';
  }
  state.unknownSaid = false;
  if (verdict.state === 'restorable') {
    if (state.restorable === false) options.onRestorable(target.store, replica, generation);
    state.restorable = true;
    state.reason = null;
    return undefined;
  }
  state.restorable = false;
  state.reason = verdict.reason;
  return { store: target.store, replica, generation, reason: verdict.reason, detail: verdict.detail };
}

export function createSnapshotChecker(targets: readonly CheckTarget[], options: SnapshotCheckOptions) {
  const states = new Map(
    targets.flatMap((t) =>
      t.replicas.map((r): [string, ReplicaState] => [key(t.store, r), newReplicaState()]),
    ),
  );
  const byPath = new Map(targets.map((t) => [t.dbPath, t]));
  const renew = new Set<CheckTarget>();
  let walDue = true;
  const stateOf = (store: string, replica: string) => states.get(key(store, replica))!;
  const scope: CheckScope = {
    targets,
    options,
    stateOf,
    timeoutMs: () => (rounds.stopped ? STOP_TIMEOUT_MS : LIST_TIMEOUT_MS),
  };

  const rounds = createRounds(options.intervalMs, async () => {
    if (!options.isActive()) return;
    const withWal = walDue;
    const { findings, complete } = await checkAll(scope, withWal, true);
    // The WAL listing is owed until every replica has answered it once for this Litestream.
    if (withWal && complete && options.isActive()) walDue = false;
    const fresh = markReported(findings, stateOf);
    if (fresh.length > 0 && options.isActive()) options.onUnrestorable(fresh);
  });

  return {
    /** Follows Litestream's lines: a snapshot being written is not a missing one. */
    observe(line: LitestreamLine): void {
      const target = line.db ? byPath.get(line.db) : undefined;
      const state = target && line.replica ? states.get(key(target.store, line.replica)) : undefined;
      if (!state) return;
      const copying = options.driver.copyingWhole(line);
      if (copying !== undefined) state.snapshotting = copying;
    },

    /** A Litestream has taken over: checks (re)start, and the next one lists the WAL too. */
    watching(): void {
      walDue = true;
      for (const state of states.values()) state.snapshotting = false;
      rounds.schedule();
    },

    /** The stores found unrestorable get a new generation at Litestream's next start. */
    renewLater(findings: readonly Finding[]): void {
      for (const f of findings) {
        const target = targets.find((t) => t.store === f.store);
        if (target) renew.add(target);
      }
    },

    /**
     * Before a Litestream starts (the previous one has exited): removes the `generation` file of each
     * store asked for, so that it starts a new generation with a snapshot (Q12). Returns those stores.
     */
    renewGenerations(): { store: string; file: string | undefined }[] {
      const done = [...renew].map((target) => ({
        store: target.store,
        file: options.driver.renewLineage(target.metaPath),
      }));
      renew.clear();
      return done;
    },

    /** Stops the periodic checks and waits for one that runs; then checks once more, in full. */
    async final(): Promise<Finding[]> {
      await rounds.stop();
      // Litestream has exited: a snapshot it was writing is finished or never will be.
      for (const state of states.values()) state.snapshotting = false;
      return (await checkAll(scope, true, false)).findings;
    },

    /** Each store's replicas as status and health see them. */
    views(store: string): ReplicaRestorabilityView[] {
      const target = targets.find((t) => t.store === store);
      return (target?.replicas ?? []).map((replica) => viewOf(replica, stateOf(store, replica)));
    },
  };
}

/**
 * A check that runs every `intervalMs`, one round at a time (the next is scheduled when one ends), and
 * stops waiting for the round that runs. A round that throws tells nothing; the next one tries again.
 */
function createRounds(intervalMs: number, round: () => Promise<void>) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      running = round()
        .catch(() => undefined)
        .finally(() => {
          running = undefined;
          timer = undefined;
          schedule();
        });
    }, intervalMs).unref();
  };
  return {
    schedule,
    get stopped() {
      return stopped;
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** What checking a replica needs: the targets, the options, each replica's state, the time Litestream may take. */
interface CheckScope {
  readonly targets: readonly CheckTarget[];
  readonly options: SnapshotCheckOptions;
  readonly stateOf: (store: string, replica: string) => ReplicaState;
  readonly timeoutMs: () => number;
}

/** One replica, checked (twice when `confirm` and it looks unrestorable) and its state updated. */
async function checkOne(
  scope: CheckScope,
  target: CheckTarget,
  replica: string,
  withWal: boolean,
  confirm: boolean,
): Promise<Finding | 'unknown' | undefined> {
  const state = scope.stateOf(target.store, replica);
  // A snapshot being written is not judged.
  const look = () =>
    state.snapshotting
      ? Promise.resolve(undefined)
      : scope.options.driver.checkRestorable(scope.options.list, target, replica, withWal, scope.timeoutMs());
  let seen = await look();
  if (confirm && seen?.verdict.state === 'unrestorable') {
    await new Promise((resolve) => setTimeout(resolve, scope.options.confirmMs ?? CONFIRM_MS).unref());
    const again = await look();
    seen = again?.generation === seen.generation ? again : undefined;
  }
  if (!seen) return 'unknown';
  return applyVerdict(state, target, replica, seen, scope.options);
}

/**
 * Checks every replica, all at once (a shutdown waits for it): those that cannot be restored
 * (confirmed by a second look only when `confirm`), and whether every replica got a verdict.
 */
async function checkAll(scope: CheckScope, withWal: boolean, confirm: boolean) {
  const all = await Promise.all(
    scope.targets.flatMap((t) => t.replicas.map((r) => checkOne(scope, t, r, withWal, confirm))),
  );
  const findings = all.filter((f): f is Finding => f !== undefined && f !== 'unknown');
  return { findings, complete: !all.includes('unknown') };
}

/** The findings not yet reported for their generation, now marked reported and counted. */
function markReported(
  findings: readonly Finding[],
  stateOf: (store: string, replica: string) => ReplicaState,
): Finding[] {
  const fresh = findings.filter((f) => stateOf(f.store, f.replica).reportedGeneration !== f.generation);
  for (const f of fresh) {
    const state = stateOf(f.store, f.replica);
    state.reportedGeneration = f.generation;
    state.unrestorableTotal += 1;
  }
  return fresh;
}

export type SnapshotChecker = ReturnType<typeof createSnapshotChecker>;

function viewOf(replica: string, s: ReplicaState): ReplicaRestorabilityView {
  return {
    name: replica,
    restorable: s.restorable,
    reason: s.reason,
    unrestorableTotal: s.unrestorableTotal,
  };
}

/** Words for a finding: `the replica "file" of primary cannot be restored: its snapshot is gone (…)`. */
export function describeFinding(f: Finding): string {
  return `the replica "${f.replica}" of ${f.store} cannot be restored: ${f.reason} (${f.detail})`;
}

/**
 * A ListCommand over the task's own `start` (the one door to child processes): `litestream ARGS
 * -config CONFIG`, its lines collected, killed after `timeoutMs`.
 */
export function litestreamLister(
  start: (spec: CommandSpec) => Promise<Child>,
  bin: string,
  configPath: string,
): ListCommand {
  return async (args, timeoutMs) => {
    const [command, ...rest] = args;
    const child = await start({
      command: { file: bin, args: [command!, '-config', configPath, ...rest] },
      display: `litestream ${args.join(' ')}`,
      relay: () => false,
    });
    const lines: string[] = [];
    child.onLine((line) => lines.push(line));
    const timer = setTimeout(() => void child.stop(0, 'SIGKILL'), timeoutMs);
    const exit = await child.exited.finally(() => clearTimeout(timer));
    if (exit.signal === 'SIGKILL')
      return { lines, failed: `litestream ${command} did not answer within ${timeoutMs / 1000} s` };
    if (exit.exitCode !== 0)
      return {
        lines,
        failed: `litestream ${command} exited with code ${exit.exitCode ?? '?'}: ${lines.at(-1) ?? ''}`,
      };
    return { lines };
  };
}

function key(store: string, replica: string): string {
  return `${store}\u0000${replica}`;
}
