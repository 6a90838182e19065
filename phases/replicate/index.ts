// The replicate phase: one `litestream replicate -config …` for every sqlite store, started only
// after every store passed verify (graph.ts makes it wait), and handed to the supervisor only once
// this very Litestream process has provably taken over each database (takeover.ts). This ordering is
// what makes `no such table: _litestream_seq` (docs/incidents.md (seeds/002)) impossible. From then
// on replication is measured, not assumed (progress.ts): a stall is an error, a long one restarts
// Litestream, and shutdown says whether its final sync really shipped the last writes. Never replaces
// a database file.

import path from 'node:path';
import { ReplicationError } from '../../core/errors.js';
import { describeKill } from '../../core/exit.js';
import type { Config, LitestreamConfig } from '../../config/schema.js';
import { taskId, type Child, type Phase, type TaskContext } from '../../core/task.js';
import { litestreamDriver, type Handoff, type LitestreamDriver } from '../../db/litestream/index.js';
import { classify, isErrorLine, isReplacedLine } from './faults.js';
import { linesOf, parseOnce } from './lines.js';
import {
  releaseBootLeases,
  releaseReplication,
  replicationLease,
  tryReplication,
  waitForReplication,
  type ReplicationLease,
} from './lease.js';
import { createProgressMonitor, type ProgressMonitor, type Stall } from './progress.js';
import { createRestorabilityCheck, type RestorabilityCheck } from './restorable.js';
import { awaitTakeover, TakeoverError, type TakeoverState, type TakeoverTarget } from './takeover.js';

const TASK_ID = taskId('replicate');
/** How long a Litestream whose takeover failed at boot is given to exit before it is killed. */
const FAILED_TAKEOVER_GRACE_MS = 2000;
/** How often the progress of every store is looked at. */
const PROGRESS_POLL_MS = 1000;

export const replicate: Phase = {
  name: 'replicate',
  tasks: (config) => {
    const stores = config.stores.filter((s) => s.kind === 'sqlite');
    if (stores.length === 0 || !config.litestream) return [];
    const litestream = config.litestream;
    return [
      {
        id: TASK_ID,
        phase: 'replicate',
        target: 'litestream',
        after: [],
        describe: `litestream replicate -config ${path.relative(config.dir, litestream.run.configPath)} (waits until it has taken over ${stores.map((s) => s.name).join(', ')})`,
        keepsChild: true,
        run: (ctx) => startReplication(ctx, config),
      },
    ];
  },
};

/** One Litestream at a time, the process currently replicating, and how far behind each store is. */
interface Session {
  readonly ctx: TaskContext;
  readonly config: Config & { litestream: LitestreamConfig };
  /** What this version of Litestream takes and says (db/litestream): the phase never asks which one. */
  readonly driver: LitestreamDriver;
  readonly targets: readonly TakeoverTarget[];
  readonly monitor: ProgressMonitor;
  /** Whether each replica can still be restored (docs/litestream.md Q12). */
  readonly snapshots: RestorabilityCheck;
  /** The replication lease of every sqlite store: held while this bootseq runs Litestream. */
  readonly lease: ReplicationLease;
  /** The Litestream that has taken over and is watched; undefined while one starts or restarts. */
  current: Child | undefined;
  /** Whether this bootseq replicates, or waits for the one holding the replication lease. */
  role: { readonly role: 'replicating' | 'waiting'; readonly holder?: string };
  /** Set when bootseq stops Litestream for good (shutdown): its exit is then no gap to cover. */
  stopping: boolean;
}

async function startReplication(ctx: TaskContext, config: Config): Promise<void> {
  const litestream = config.litestream;
  if (!litestream) return;
  const session = createSession(ctx, { ...config, litestream });
  const holder = await tryReplication(session.lease, []);
  ctx.expose({
    replication: () => ({
      ...session.role,
      stores:
        session.role.role === 'replicating'
          ? session.monitor.views().map((v) => ({ ...v, replicas: session.snapshots.views(v.store) }))
          : [],
    }),
  });
  // The files are final: whoever boots next may restore and migrate (in place) now.
  releaseBootLeases(session.lease.dbPaths);
  if (holder !== undefined) {
    session.role = { role: 'waiting', holder };
    ctx.record('lease', session.role);
    ctx.note(
      'info',
      `litestream for ${session.targets.map((t) => t.store).join(', ')} runs in ${holder}: this bootseq starts the app now and takes over replication as soon as that one stops`,
    );
    ctx.summarize(`the app starts now; litestream waits for ${holder} to stop`);
    ctx.background((signal) => takeOverLater(session, signal));
    return;
  }
  ctx.record('lease', { role: 'replicating' });
  await replicateAtBoot(session);
}

async function replicateAtBoot(session: Session): Promise<void> {
  const { ctx, config } = session;
  const startedAt = Date.now();
  let child: Child;
  let states: Map<string, TakeoverState>;
  let handoffs: Handoff[] = [];
  try {
    handoffs = await prepareTakeover(session, 'boot');
    child = await spawnLitestream(session);
  } catch (error) {
    release(handoffs);
    releaseReplication(session.lease);
    throw error;
  }
  try {
    states = await takeover(session, child, ctx.signal);
  } catch (error) {
    release(handoffs);
    // Nothing was started and nothing depends on its final sync (the WAL stays for the next boot); a
    // v0.5 whose replica fails retries that sync for 30 s (docs/litestream-v05.md C): not waited for.
    await ctx.stop(child, Math.min(config.shutdown.replicationGraceMs, FAILED_TAKEOVER_GRACE_MS));
    releaseReplication(session.lease);
    if (!(error instanceof TakeoverError)) throw error;
    throw new ReplicationError(TASK_ID, error.message, {
      outputTail: error.outputTail,
      hint: `${error.hint}; nothing was started`,
    });
  }
  release(handoffs);
  const stores = session.targets.map((t) => t.store);
  const done = (store: string) => (states.get(store)?.doneAtMs ?? startedAt) - startedAt;
  ctx.record('takeover_ms', Object.fromEntries(stores.map((s) => [s, done(s)])));
  ctx.record('generations', Object.fromEntries(stores.map((s) => [s, states.get(s)?.generation ?? null])));
  ctx.record('pid', child.pid);
  const tookMs = Date.now() - startedAt;
  ctx.note(
    'info',
    `litestream has taken over ${stores.join(', ')} (its own first write to the replica after ${tookMs} ms)`,
  );
  ctx.summarize(
    `litestream (pid ${child.pid}) has taken over ${stores.length === 1 ? stores[0] : `${stores.length} stores`}`,
  );
  keepReplicating(session, child);
  watch(session, child);
}

/**
 * The rolling deploy's other half: the app already runs here while another bootseq's Litestream
 * replicates the same files. The moment that one lets go (after its final sync), this one takes the
 * lease, starts Litestream and proves its takeover as at boot; a takeover that fails is a crash
 * (bounded restarts, then the app stops). Shutdown aborts the wait.
 */
async function takeOverLater(session: Session, signal: AbortSignal): Promise<void> {
  const { ctx } = session;
  const waitingSince = Date.now();
  let said = waitingSince;
  await waitForReplication(
    session.lease,
    () => [],
    signal,
    (holder) => {
      if (Date.now() - said < 60_000) return;
      said = Date.now();
      ctx.note('info', `still waiting for ${holder} to stop replicating`);
    },
  );
  const stores = session.targets.map((t) => t.store).join(', ');
  ctx.note(
    'info',
    `the replication lease is free after ${Math.round((Date.now() - waitingSince) / 1000)} s: starting litestream for ${stores}`,
  );
  const handoffs = await prepareTakeover(session, 'restart');
  let child: Child;
  try {
    child = await spawnLitestream(session);
  } catch (error) {
    release(handoffs);
    throw error;
  }
  keepReplicating(session, child);
  try {
    await takeover(session, child, signal);
  } catch (error) {
    if (signal.aborted) return;
    const hint = error instanceof TakeoverError ? ` (${error.hint})` : '';
    ctx.note('error', `litestream did not take over after the handoff: ${(error as Error).message}${hint}`);
    await holdForRestart(session);
    void child.stop(0, 'SIGKILL'); // the supervisor restarts it as after a crash, within its bound
    return;
  } finally {
    release(handoffs);
  }
  ctx.note('info', `litestream has taken over ${stores}: this bootseq replicates now`);
  session.role = { role: 'replicating' };
  watch(session, child);
}

/**
 * Hands a Litestream to the supervisor: restarted when it exits (bounded; the files were not
 * replaced, so a new process picks up the same databases: docs/litestream.md Q1, q1c), and at
 * shutdown judged by what its final sync shipped, after which the replication lease goes to whoever
 * waits for it.
 */
function keepReplicating(session: Session, child: Child): void {
  const { ctx, config } = session;
  const stores = session.targets.map((t) => t.store).join(', ');
  const timer = setInterval(() => session.monitor.poll(), PROGRESS_POLL_MS).unref();
  // What each restarted Litestream's prepareTakeover holds, until its takeover is proven or fails.
  const restartHandoffs = new Map<Child, Handoff[]>();
  ctx.keep(child, 'replication', {
    restart: {
      start: async () => {
        session.snapshots.renewGenerations();
        const handoffs = await prepareTakeover(session, 'restart');
        try {
          const restarted = await spawnLitestream(session);
          restartHandoffs.set(restarted, handoffs);
          return restarted;
        } catch (error) {
          release(handoffs);
          throw error;
        }
      },
      onFailureOnly: false,
      ...config.litestream.restart,
      awaitReady: async (restarted, signal) => {
        try {
          await takeover(session, restarted, signal);
        } catch (error) {
          await holdForRestart(session); // restarted again after a backoff: no gap meanwhile
          throw error;
        } finally {
          release(restartHandoffs.get(restarted) ?? []);
          restartHandoffs.delete(restarted);
        }
        watch(session, restarted);
        return `litestream has taken over ${stores} again`;
      },
    },
    beforeStop: () => {
      session.stopping = true;
      session.monitor.markStop();
    },
    afterStop: async (exit) => {
      clearInterval(timer);
      for (const handoffs of restartHandoffs.values()) release(handoffs);
      restartHandoffs.clear();
      const verdict = session.monitor.verdict(describeKill(exit));
      try {
        return await session.snapshots.judgeAtStop(verdict);
      } finally {
        releaseReplication(session.lease);
      }
    },
  });
}

function createSession(ctx: TaskContext, config: Session['config']): Session {
  const targets: TakeoverTarget[] = config.stores.flatMap((s) =>
    s.kind === 'sqlite'
      ? [
          {
            store: s.name,
            dbPath: s.location,
            metaPath: s.litestream.metaPath,
            replicas: s.litestream.replicas.map((r) => r.name),
          },
        ]
      : [],
  );
  const driver = litestreamDriver(config.litestream);
  const session: Session = {
    ctx,
    config,
    driver,
    targets,
    lease: replicationLease(targets.map((t) => t.dbPath)),
    current: undefined,
    role: { role: 'replicating' },
    stopping: false,
    snapshots: createRestorabilityCheck(ctx, config, driver, targets, () => session.current),
    monitor: createProgressMonitor(targets, {
      driver,
      stallTimeoutMs: config.litestream.stall.timeoutMs,
      stallRestartMs: config.litestream.stall.restartMs,
      onStall: (stalls) => ctx.note('error', describeStall(stalls), stallHint(session, stalls)),
      onRecover: (store, ms) =>
        ctx.note('info', `replication of ${store} caught up again after ${Math.round(ms / 1000)} s behind`),
      onRestartDue: (stalls) => restartStalled(session, stalls),
    }),
  };
  return session;
}

function watch(session: Session, child: Child): void {
  session.current = child;
  session.monitor.watching();
  session.snapshots.watching();
  void child.exited.then(() => {
    if (session.current !== child) return;
    session.current = undefined;
    // bootseq restarts it now (or stops): a stall is the next watched Litestream's to have.
    session.monitor.unwatched();
    void holdForRestart(session);
  });
}

/**
 * Until a restarted Litestream holds its read lock (after the restart's backoff) nothing keeps the
 * app's checkpoints from starting the WAL over, which v0.5 can go on from without the writes of the
 * moment (docs/litestream-v05.md K, L): the keeper holds every database from now; the restart's
 * prepareTakeover adopts it and lets it go once the new Litestream's takeover is proven. Not when
 * bootseq stops Litestream for good.
 */
async function holdForRestart(session: Session): Promise<void> {
  if (session.stopping) return;
  await Promise.all(session.targets.map((t) => session.driver.keepLineage(t.dbPath)));
}

/**
 * Gives the Litestream about to start a change to ship in every database that has been replicated
 * before, so that its own write to the replica can prove it replicates (takeover.ts), and holds what
 * the driver must hold until that proof (db/litestream: the v0.3 driver's handoff connection). At boot
 * a database that cannot be written (a read-only mount) fails here, before Litestream starts; at a
 * restart, with the app running, a failure only warns: the app's own writes give it changes to ship.
 * The caller releases what it returns once the takeover is proven or has failed.
 */
async function prepareTakeover(session: Session, when: 'boot' | 'restart'): Promise<Handoff[]> {
  const handoffs: Handoff[] = [];
  for (const target of session.targets) {
    let failed: Error | undefined;
    try {
      const handoff = await session.driver.prepareTakeover(target.dbPath);
      handoffs.push(handoff);
      failed = handoff.failed;
    } catch (error) {
      failed = error as Error;
    }
    if (failed) {
      const message = failed.message;
      if (when === 'restart') {
        session.ctx.note('warn', `cannot prepare ${target.store} for the restarted litestream: ${message}`);
        continue;
      }
      release(handoffs);
      const advice = classify(session.driver.parseLine(message), { dbPath: target.dbPath }).advice;
      throw new ReplicationError(TASK_ID, `cannot prepare ${target.store} for litestream: ${message}`, {
        hint: `${advice}; nothing was replicated and nothing was started`,
      });
    }
  }
  return handoffs;
}

function release(handoffs: readonly Handoff[]): void {
  for (const handoff of handoffs) handoff.release();
}

/** `litestream replicate`, its lines fed to the progress monitor and its faults reported loudly. */
async function spawnLitestream(session: Session): Promise<Child> {
  const { ctx, config, driver } = session;
  const configFile = driver.configFile(config.litestream.run);
  const parse = parseOnce(driver.parseLine);
  const args = driver.replicateArgs(configFile);
  const child = await ctx.start({
    command: { file: config.litestream.bin, args },
    env: driver.environment({ ...process.env, ...config.env }),
    display: `litestream ${args.map((a) => (a === configFile ? path.relative(config.dir, configFile) : a)).join(' ')}`,
    // Every line is read below; only what an operator should see is relayed (litestream.log).
    ...(config.litestream.log === 'all' ? {} : { relay: (text: string) => !driver.isRoutine(parse(text)) }),
  });
  const reported = new Set<string>();
  const startedOver = driver.watchWalStartOver();
  linesOf(child, parse).onLine((line) => {
    session.monitor.observe(line);
    session.snapshots.observe(line);
    const gap = startedOver(line);
    if (gap) noteWalStartedOver(session, gap);
    // A write of changes (not a whole copy) shows the fault is over: the next one is reported again.
    const shipped = driver.shipped(line);
    if (shipped && !shipped.whole) reported.delete(shipped.db);
    // Until it has taken over, a fault fails the takeover instead (takeover.ts).
    if (session.current !== child) return;
    if (isReplacedLine(line)) {
      // After boot a fault means a database file was replaced under Litestream: the replica goes stale.
      ctx.note(
        'error',
        `litestream reports a replaced or broken database file: ${line.text}`,
        classify(line).advice,
      );
    } else if (isErrorLine(line) && line.db && !reported.has(line.db)) {
      reported.add(line.db);
      const target = session.targets.find((t) => t.dbPath === line.db);
      // A line about the replica may not name it (v0.5's `compaction failed`): a database's only one is it.
      const name = line.replica ?? (target?.replicas.length === 1 ? target.replicas[0] : undefined);
      ctx.note(
        'error',
        `litestream cannot replicate ${target?.store ?? line.db}: ${line.error ?? line.msg ?? line.text}`,
        classify(line, { dbPath: line.db, replica: name ? `the replica "${name}"` : undefined }).advice,
      );
    }
  });
  return child;
}

/**
 * This Litestream's proof that it has taken over every store (takeover.ts). Its own next sync gives
 * it; bootseq never asks v0.5 for one over its control socket (`litestream sync`): a sync asked for
 * that way which checkpoints leaves Litestream without its read transaction until its next own
 * checkpoint, and an app's checkpoint in between can restart the WAL under it and lose writes from the
 * replica (docs/litestream-v05.md L).
 */
function takeover(session: Session, child: Child, signal: AbortSignal) {
  return awaitTakeover(child, session.targets, {
    driver: session.driver,
    timeoutMs: session.config.litestream.takeoverTimeoutMs,
    signal,
  });
}

/**
 * Litestream went on in a WAL that another connection started over since its last sync, without a
 * new snapshot: whatever was written between that sync and the restart is in the database but may be
 * in no file of the replica, and a restore may fail integrity_check (docs/litestream-v05.md K, L).
 * bootseq's keeper and Litestream's own read lock should make it impossible; said when it happens.
 */
function noteWalStartedOver(session: Session, dbPath: string): void {
  const store = session.targets.find((t) => t.dbPath === dbPath)?.store ?? dbPath;
  session.ctx.note(
    'error',
    `litestream found ${store}'s WAL started over by another connection since its last sync and went on without a new snapshot: the writes made just before may be missing from the replica`,
    `something checkpointed the database while litestream held no read lock (a \`litestream sync\` through its control socket, or a moment with neither litestream nor bootseq's keeper reading it): check the replica with \`bootseq rehearse --into DIR\` (it restores a copy and runs integrity_check on it); if it fails, start a new replica path (docs/litestream-v05.md L)`,
  );
}

function describeStall(stalls: readonly Stall[]): string {
  const stores = stalls.map((s) => s.store);
  const worst = Math.round(Math.max(...stalls.map((s) => s.lagMs)) / 1000);
  const verb = stores.length === 1 ? 'has' : 'have';
  return `replication stalled: ${stores.join(', ')} ${verb} had a change waiting ${worst} s for the replica`;
}

function stallHint(session: Session, stalls: readonly Stall[]): string {
  const { stall } = session.config.litestream;
  const then = `bootseq restarts litestream if it lasts ${stall.restartMs / 1000} s`;
  const withError = stalls.find((s) => s.lastError);
  if (withError?.lastError)
    return `${classify(withError.lastError, { dbPath: session.targets.find((t) => t.store === withError.store)?.dbPath }).advice}; ${then}`;
  if (stalls.some((s) => s.behind === 'litestream'))
    return `litestream${session.current ? ` (pid ${session.current.pid})` : ''} has stopped copying the WAL: it is frozen or hung; ${then}`;
  return `the replica takes no WAL segment and litestream logs no error: check its free space, permissions and network; ${then}`;
}

function restartStalled(session: Session, stalls: readonly Stall[]): void {
  const child = session.current;
  if (!child) return;
  const worst = Math.max(...stalls.map((s) => s.lagMs));
  session.ctx.note(
    'error',
    `litestream (pid ${child.pid}) has not replicated ${stalls.map((s) => s.store).join(', ')} for ${Math.round(worst / 1000)} s: killing it so it is restarted`,
  );
  session.monitor.unwatched();
  // The keepers first: no moment without a reader between this kill and the restart's takeover.
  void holdForRestart(session).then(() => child.stop(0, 'SIGKILL'));
}
