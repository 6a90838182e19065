// The replicate phase: one `litestream replicate -config …` for every sqlite store, started only
// after every store passed verify (graph.ts makes it wait), and handed to the supervisor only once
// Litestream has provably taken over each database. This ordering is what makes `no such table:
// _litestream_seq` (docs/incidents.md (seeds/002)) impossible. Never replaces a database file.

import { setTimeout as wait } from 'node:timers/promises';
import path from 'node:path';
import { ReplicationError } from '../../entrypoint/core/errors.js';
import { describeExit } from '../../entrypoint/core/exit.js';
import type { Child, Config, Phase, TaskContext } from '../../entrypoint/core/task.js';
import {
  describeMissing,
  FAULT_LINE,
  pollTakeover,
  watchTakeoverLines,
  createTakeoverState,
  type TakeoverLog,
  type TakeoverState,
  type TakeoverTarget,
} from './takeover.js';

const TASK_ID = 'replicate';
const POLL_MS = 50;

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
        describe: `litestream replicate -config ${path.relative(config.dir, litestream.configPath)} (waits until it has taken over ${stores.map((s) => s.name).join(', ')})`,
        keepsChild: true,
        run: (ctx) => startReplication(ctx, config),
      },
    ];
  },
};

async function startReplication(ctx: TaskContext, config: Config): Promise<void> {
  const litestream = config.litestream;
  if (!litestream) return;
  const targets: TakeoverTarget[] = config.stores
    .filter((s) => s.kind === 'sqlite')
    .map((s) => ({
      store: s.name,
      dbPath: s.location,
      metaPath: s.litestream.metaPath,
      fileReplicas: s.litestream.replicas.flatMap((r) => (r.path ? [r.path] : [])),
    }));
  const startedAt = Date.now();
  let fault: string | undefined;
  const child = await spawnLitestream(ctx, config, (line) => {
    fault ??= line;
  });
  const log: TakeoverLog = { newGeneration: new Map(), snapshotWritten: new Map() };
  const stopSnapshots = watchTakeoverLines(child, log);
  const states = new Map<string, TakeoverState>(targets.map((t) => [t.store, createTakeoverState()]));
  try {
    const deadline = startedAt + litestream.takeoverTimeoutMs;
    for (;;) {
      ctx.signal.throwIfAborted();
      if (fault !== undefined) {
        throw new ReplicationError(TASK_ID, `litestream reported a fault while taking over: ${fault}`, {
          outputTail: child.outputTail(),
          hint: 'a database file changed under Litestream during takeover; make sure nothing else writes or replaces the files, then start again',
        });
      }
      if (child.hasExited) throw exitedError(child, await child.exited);
      if (await pollTakeover(child.pid, targets, states, log)) break;
      if (Date.now() > deadline) {
        const missing = targets
          .filter((t) => states.get(t.store)?.doneAtMs === undefined)
          .map((t) => `${t.store} (${describeMissing(states.get(t.store) as TakeoverState)})`);
        throw new ReplicationError(
          TASK_ID,
          `litestream did not take over ${missing.join(', ')} within ${litestream.takeoverTimeoutMs / 1000}s`,
          {
            outputTail: child.outputTail(),
            hint: 'read the [litestream] lines above; raise litestream.takeover_timeout for large databases or slow replicas',
          },
        );
      }
      await nextPoll(child, ctx.signal);
    }
  } catch (error) {
    stopSnapshots();
    await ctx.stop(child, config.shutdown.replicationGraceMs);
    throw error;
  }
  stopSnapshots();
  ctx.record(
    'takeover_ms',
    Object.fromEntries(
      targets.map((t) => [t.store, (states.get(t.store)?.doneAtMs ?? startedAt) - startedAt]),
    ),
  );
  ctx.record(
    'generations',
    Object.fromEntries(targets.map((t) => [t.store, states.get(t.store)?.generation ?? null])),
  );
  ctx.record('pid', child.pid);
  ctx.note(
    'info',
    `litestream has taken over ${targets.map((t) => t.store).join(', ')} (first snapshot in the replica after ${Date.now() - startedAt} ms)`,
  );
  // Litestream exiting while the app runs is restarted (bounded): the files were not replaced, so a
  // new process picks up the same databases (docs/litestream.md Q1, q1c). Past the bound the app stops.
  ctx.keep(child, 'replication', {
    restart: {
      start: () => spawnLitestream(ctx, config, () => undefined),
      onFailureOnly: false,
      ...litestream.restart,
      awaitReady: (restarted, signal) =>
        awaitReopened(restarted, targets, litestream.takeoverTimeoutMs, signal),
    },
  });
}

/**
 * A restarted Litestream works again once it has opened every database (its first monitor tick;
 * from then on its final sync on SIGTERM ships what was written meanwhile). The databases were never
 * replaced, so `/proc/<pid>/fd` pointing at each file is the proof (docs/litestream.md Q3).
 */
async function awaitReopened(
  child: Child,
  targets: readonly TakeoverTarget[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string> {
  // The same proof as at boot, scoped to the new process: it has the files open, its own log names
  // the generation, and that generation's snapshot is in the replica. Only then does its final sync
  // on SIGTERM ship what was written while Litestream was down.
  const log: TakeoverLog = { newGeneration: new Map(), snapshotWritten: new Map() };
  const stopWatching = watchTakeoverLines(child, log);
  const states = new Map<string, TakeoverState>(targets.map((t) => [t.store, createTakeoverState()]));
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.hasExited) throw new Error('it exited again');
      if (await pollTakeover(child.pid, targets, states, log)) {
        return `litestream has taken over ${targets.map((t) => t.store).join(', ')} again`;
      }
      if (Date.now() > deadline) {
        const missing = targets.filter((t) => states.get(t.store)?.doneAtMs === undefined);
        throw new Error(
          `it has not taken over ${missing.map((t) => `${t.store} (${describeMissing(states.get(t.store)!)})`).join(', ')} within ${timeoutMs / 1000}s`,
        );
      }
      if (signal.aborted) throw new Error('bootseq is exiting');
      await nextPoll(child, signal);
    }
  } finally {
    stopWatching();
  }
}

/**
 * Waits POLL_MS, or less: Litestream logs `snapshot written` right after it renames a snapshot into
 * place, which is the last signal of a takeover, so the next check runs at once instead of up to
 * POLL_MS later (≈ 25 ms of every boot on average).
 */
async function nextPoll(child: Child, signal: AbortSignal): Promise<void> {
  const woken = new AbortController();
  const stop = child.onLine((line) => {
    if (line.includes('msg="snapshot written"')) woken.abort();
  });
  try {
    await wait(POLL_MS, undefined, { signal: AbortSignal.any([signal, woken.signal]) }).catch(
      () => undefined,
    );
  } finally {
    stop();
  }
}

/** `litestream replicate`, its fault lines reported loudly for as long as it runs. */
async function spawnLitestream(
  ctx: TaskContext,
  config: Config,
  onFault: (line: string) => void,
): Promise<Child> {
  const litestream = config.litestream!;
  const child = await ctx.start({
    command: { file: litestream.bin, args: ['replicate', '-config', litestream.configPath] },
    display: `litestream replicate -config ${path.relative(config.dir, litestream.configPath)}`,
  });
  child.onLine((line) => {
    if (!FAULT_LINE.test(line)) return;
    onFault(line);
    // After boot a fault means a database file was replaced under Litestream: the replica goes stale.
    ctx.note(
      'error',
      `litestream reports a replaced or broken database file: ${line}`,
      'something replaced a database file while Litestream replicates it; the replica may be stale or corrupt. Restart the container so bootseq restores, verifies and replicates again',
    );
  });
  return child;
}

function exitedError(
  child: Child,
  exit: { exitCode: number | undefined; signal: string | undefined },
): ReplicationError {
  return new ReplicationError(
    TASK_ID,
    `litestream ${describeExit(exit)} before it took over every database`,
    {
      outputTail: child.outputTail(),
      hint: 'read the [litestream] lines above (replica path, permissions, litestream.yml); nothing was started',
    },
  );
}
