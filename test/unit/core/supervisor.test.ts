// The supervisor's branches in milliseconds: signals (first, duplicate within 1 s, forced kill),
// restarts with backoff and their bound, Litestream recovery and Litestream down at shutdown, the
// ordered shutdown and the exit code each ending yields. Signals, the clock, the group killer and
// the children are fakes; test/integration/supervise-faults.test.ts runs the same with real ones.

import { describe, expect, test } from 'vitest';
import {
  InterruptedError,
  ProcessExitedError,
  ReplicationError,
  TaskFailedError,
} from '../../../core/errors.js';
import type { BootEvent } from '../../../core/events.js';
import { backoffMs } from '../../../core/supervisor/restarts.js';
import { createSupervisor, type Clock, type SignalSource } from '../../../core/supervisor/index.js';
import { taskId, type Child, type ChildExit, type RestartPolicy, type TaskRef } from '../../../core/task.js';

/** A kept child's task as the context hands it over: `start:web`, or `replicate` (target `litestream`). */
function task(phase: 'start' | 'replicate', target: string): TaskRef {
  return { id: phase === 'start' ? taskId(phase, target) : taskId(phase), phase, target };
}

interface FakeChild extends Child {
  exit(exit: ChildExit): void;
  readonly stops: { graceMs: number; signal: string }[];
}

/** A child that exits when stopped, unless it ignores SIGTERM (then only SIGKILL ends it). */
function fakeChild(pid: number, options: { ignoresTerm?: boolean } = {}): FakeChild {
  let resolveExit!: (exit: ChildExit) => void;
  const exited = new Promise<ChildExit>((resolve) => {
    resolveExit = resolve;
  });
  let hasExited = false;
  const stops: { graceMs: number; signal: string }[] = [];
  const exit = (e: ChildExit) => {
    if (hasExited) return;
    hasExited = true;
    resolveExit(e);
  };
  return {
    pid,
    display: `program-${pid}`,
    exited,
    get hasExited() {
      return hasExited;
    },
    outputTail: () => [`last line of ${pid}`],
    onLine: () => () => undefined,
    stop(graceMs, signal = 'SIGTERM') {
      stops.push({ graceMs, signal });
      if (signal === 'SIGKILL' || !options.ignoresTerm) exit({ exitCode: undefined, signal });
      return exited;
    },
    exit,
    stops,
  };
}

function fakeSignals() {
  const listeners = new Map<string, Set<(s: NodeJS.Signals) => void>>();
  const source: SignalSource = {
    on: (signal, listener) => listeners.set(signal, (listeners.get(signal) ?? new Set()).add(listener)),
    off: (signal, listener) => listeners.get(signal)?.delete(listener),
  };
  return {
    source,
    send: (signal: NodeJS.Signals) => {
      for (const listener of listeners.get(signal) ?? []) listener(signal);
    },
    count: () => [...listeners.values()].reduce((n, set) => n + set.size, 0),
  };
}

/** A clock whose time the test sets; sleeps are recorded and end at once, or when released. */
function fakeClock(options: { holdSleeps?: boolean } = {}) {
  let nowMs = 0;
  const sleeps: number[] = [];
  const held: (() => void)[] = [];
  const clock: Clock = {
    now: () => nowMs,
    sleep: (ms, signal) => {
      sleeps.push(ms);
      if (!options.holdSleeps || signal?.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        held.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    },
  };
  return {
    clock,
    sleeps,
    set: (ms: number) => (nowMs = ms),
    releaseSleeps: () => held.splice(0).forEach((r) => r()),
  };
}

function setup(options: { holdSleeps?: boolean } = {}) {
  const events: BootEvent[] = [];
  const signals = fakeSignals();
  const time = fakeClock(options);
  const controller = new AbortController();
  let killedAll = 0;
  const supervisor = createSupervisor({
    graceMs: 5000,
    replicationGraceMs: 7000,
    emit: (e) => events.push(e),
    controller,
    signals: signals.source,
    clock: time.clock,
    killAll: () => (killedAll += 1),
  });
  const notes = () => events.flatMap((e) => (e.event === 'note' ? [e.text] : []));
  return { supervisor, events, notes, signals, time, controller, killedAll: () => killedAll };
}

/** Lets the promise callbacks queued so far run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function restartPolicy(make: () => FakeChild, over: Partial<RestartPolicy> = {}): RestartPolicy {
  return {
    start: () => Promise.resolve(make()),
    onFailureOnly: true,
    maxRestarts: 3,
    windowMs: 600_000,
    backoffMs: 1000,
    ...over,
  };
}

describe('signals', () => {
  test('the first SIGTERM during supervise stops processes in reverse order, Litestream last, exit 0', async () => {
    const { supervisor, signals, notes } = setup();
    const litestream = fakeChild(10);
    const worker = fakeChild(11);
    const web = fakeChild(12);
    supervisor.keep(litestream, 'replication', task('replicate', 'litestream'));
    supervisor.keep(worker, 'process', task('start', 'worker'));
    supervisor.keep(web, 'process', task('start', 'web'));
    const outcome = supervisor.supervise();
    signals.send('SIGTERM');
    const result = await supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    expect(result.stops.map((s) => s.task)).toEqual(['start:web', 'start:worker', 'replicate']);
    expect(result.exitCode).toBe(0);
    expect(result.error).toBeUndefined();
    expect(web.stops).toEqual([{ graceMs: 5000, signal: 'SIGTERM' }]);
    expect(litestream.stops).toEqual([{ graceMs: 7000, signal: 'SIGTERM' }]);
    expect(notes()).toContain('shutting down (received SIGTERM): start:web → start:worker → replicate');
    supervisor.dispose();
  });

  test.each([
    ['SIGINT', 0],
    ['SIGHUP', 129],
    ['SIGQUIT', 131],
  ] as const)('%s ends supervision with exit %i', async (signal, code) => {
    const { supervisor, signals } = setup();
    supervisor.keep(fakeChild(20), 'process', task('start', 'web'));
    const outcome = supervisor.supervise();
    signals.send(signal);
    const result = await supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    expect(result.exitCode).toBe(code);
    supervisor.dispose();
  });

  test('a signal during boot aborts the run, and wins over the task failure it caused', async () => {
    const { supervisor, signals, controller } = setup();
    signals.send('SIGTERM');
    expect(controller.signal.aborted).toBe(true);
    expect(controller.signal.reason).toBeInstanceOf(InterruptedError);
    const taskFailure = new TaskFailedError('migrate:primary', '`sleep 30` was stopped');
    const result = await supervisor.shutdown({ kind: 'failed', error: taskFailure });
    expect(result.error).toBeInstanceOf(InterruptedError);
    expect(result.exitCode).toBe(143);
    supervisor.dispose();
  });

  test('a repeat within 1 s is the same request; a second SIGTERM after 1 s SIGKILLs everything, exit 143', async () => {
    const { supervisor, signals, time, killedAll, notes } = setup();
    const stubborn = fakeChild(30, { ignoresTerm: true });
    supervisor.keep(stubborn, 'process', task('start', 'stubborn'));
    const outcome = supervisor.supervise();
    signals.send('SIGTERM');
    const stopping = supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    await settle();
    time.set(999);
    signals.send('SIGINT');
    await settle();
    expect(killedAll()).toBe(0);
    expect(stubborn.hasExited).toBe(false);
    time.set(1000);
    signals.send('SIGTERM');
    const result = await stopping;
    expect(killedAll()).toBe(1);
    expect(stubborn.stops.at(-1)).toEqual({ graceMs: 0, signal: 'SIGKILL' });
    expect(result.exitCode).toBe(143);
    expect(notes()).toContain(
      'second SIGTERM during shutdown: killing every remaining process now (SIGKILL)',
    );
    supervisor.dispose();
  });

  test('a first signal that arrives during shutdown is acknowledged, not forced', async () => {
    const { supervisor, signals, killedAll, notes } = setup();
    const stubborn = fakeChild(31, { ignoresTerm: true });
    supervisor.keep(stubborn, 'process', task('start', 'stubborn'));
    const stopping = supervisor.shutdown({ kind: 'done', reason: '--until ready reached' });
    await settle();
    signals.send('SIGTERM');
    expect(killedAll()).toBe(0);
    expect(notes()).toContain('received SIGTERM while shutting down; a second one kills what is left');
    stubborn.exit({ exitCode: 0, signal: undefined });
    expect((await stopping).exitCode).toBe(0);
    supervisor.dispose();
  });

  test('dispose removes every signal listener it installed', () => {
    const { supervisor, signals } = setup();
    expect(signals.count()).toBe(4);
    supervisor.dispose();
    expect(signals.count()).toBe(0);
  });
});

describe('restarts', () => {
  test('backoff doubles from the configured value and stops at 30 s', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs({ backoffMs: 1000 }, n))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs({ backoffMs: 1000 }, 6)).toBe(30_000);
    expect(backoffMs({ backoffMs: 250 }, 1)).toBe(250);
  });

  test('on-failure restarts with backoff up to max_restarts, then gives up and exits with the code', async () => {
    const { supervisor, time, notes } = setup();
    const children: FakeChild[] = [fakeChild(40)];
    supervisor.keep(children[0]!, 'process', task('start', 'worker'), {
      restart: restartPolicy(() => {
        const next = fakeChild(41 + children.length);
        children.push(next);
        return next;
      }),
    });
    const outcome = supervisor.supervise();
    for (let i = 0; i < 4; i += 1) {
      children.at(-1)!.exit({ exitCode: 1, signal: undefined });
      await settle();
    }
    expect(time.sleeps).toEqual([1000, 2000, 4000]);
    expect(children).toHaveLength(4);
    expect(notes()).toContain('gave up after 3 restarts within 10m');
    expect(notes()).toContain('worker exited with code 1; restarting in 1000 ms (restart 1 of 3)');
    const result = await supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    expect(result.exitCode).toBe(1);
    expect(result.error).toBeInstanceOf(ProcessExitedError);
    expect(result.error?.message).toContain('process worker exited with code 1');
    supervisor.dispose();
  });

  test('only restarts within restart_window count: crashes spaced wider never reach the bound', async () => {
    const { supervisor, time, notes } = setup();
    const children: FakeChild[] = [fakeChild(45)];
    const make = () => {
      const next = fakeChild(45 + children.length);
      children.push(next);
      return next;
    };
    supervisor.keep(children[0]!, 'process', task('start', 'worker'), {
      restart: restartPolicy(make, { maxRestarts: 1, windowMs: 1000 }),
    });
    const outcome = supervisor.supervise();
    for (const at of [0, 1500, 3000, 4500]) {
      time.set(at);
      children.at(-1)!.exit({ exitCode: 1, signal: undefined });
      await settle();
    }
    expect(children).toHaveLength(5); // four crashes, four restarts: each one alone in its window
    expect(time.sleeps).toEqual([1000, 1000, 1000, 1000]); // the backoff restarts with the window too
    time.set(4900); // within 1 s of the last restart: this one is the last straw
    children.at(-1)!.exit({ exitCode: 1, signal: undefined });
    const result = await supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    expect(notes()).toContain('gave up after 1 restart within 1s');
    expect(result.exitCode).toBe(1);
    supervisor.dispose();
  });

  test('exit 0 of an on-failure process is not restarted: it ends the run with 0', async () => {
    const { supervisor, time, events } = setup();
    const oneshot = fakeChild(50);
    supervisor.keep(oneshot, 'process', task('start', 'oneshot'), {
      restart: restartPolicy(() => fakeChild(51)),
    });
    const outcome = supervisor.supervise();
    oneshot.exit({ exitCode: 0, signal: undefined });
    const result = await supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    expect(time.sleeps).toEqual([]);
    expect(result).toMatchObject({ exitCode: 0, error: undefined });
    expect(events).toContainEqual({
      event: 'note',
      level: 'info',
      task: 'start:oneshot',
      text: 'exited with code 0; stopping the rest in order',
    });
    supervisor.dispose();
  });

  test('a stop bootseq asked for (a failed liveness check) is restarted even on exit 0; past the limit it ends with exit 1 and the reason', async () => {
    const { supervisor, time, notes } = setup();
    const children: FakeChild[] = [fakeChild(60)];
    const stopped = new Set<Child>();
    supervisor.keep(children[0]!, 'process', task('start', 'web'), {
      restart: restartPolicy(
        () => {
          const next = fakeChild(61 + children.length);
          children.push(next);
          return next;
        },
        {
          maxRestarts: 1,
          stoppedBecause: (c) =>
            stopped.has(c) ? 'web failed its liveness check 3 times in a row' : undefined,
        },
      ),
    });
    const outcome = supervisor.supervise();
    for (let i = 0; i < 2; i += 1) {
      stopped.add(children.at(-1)!);
      children.at(-1)!.exit({ exitCode: 0, signal: undefined });
      await settle();
    }
    expect(time.sleeps).toEqual([1000]);
    expect(children).toHaveLength(2);
    expect(notes()).toContain('web exited with code 0; restarting in 1000 ms (restart 1 of 1)');
    expect(notes()).toContain('gave up after 1 restart within 10m');
    const result = await supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    expect(result.exitCode).toBe(1);
    expect(result.error).toBeInstanceOf(TaskFailedError);
    expect(result.error?.message).toBe(
      'start:web failed: web failed its liveness check 3 times in a row; gave up after 1 restart within 10m, so the other processes and litestream were stopped in order',
    );
    supervisor.dispose();
  });

  test.each([
    [{ exitCode: 3, signal: undefined }, 3, 'exited with code 3'],
    [{ exitCode: undefined, signal: 'SIGKILL' }, 137, 'was killed by SIGKILL'],
    [
      { exitCode: undefined, signal: 'SIGKILL', killedByBootseq: false },
      137,
      'was killed by SIGKILL from outside bootseq (the OOM killer or an operator)',
    ],
    [
      { exitCode: undefined, signal: 'SIGTERM', killedByBootseq: false },
      143,
      'was killed by SIGTERM from outside bootseq',
    ],
  ] as const)('a process that ends with %o stops the rest; bootseq exits %i', async (exit, code, words) => {
    const { supervisor } = setup();
    const web = fakeChild(60);
    const crasher = fakeChild(61);
    supervisor.keep(web, 'process', task('start', 'web'));
    supervisor.keep(crasher, 'process', task('start', 'crasher'));
    const outcome = supervisor.supervise();
    crasher.exit(exit);
    const result = await supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    expect(result.exitCode).toBe(code);
    expect(result.error?.message).toContain(`process crasher ${words}`);
    expect(result.stops.map((s) => s.task)).toEqual(['start:crasher', 'start:web']);
    expect(web.stops).toHaveLength(1);
    supervisor.dispose();
  });

  test('a kept child that dies during boot aborts the run with its error', async () => {
    const { supervisor, controller } = setup();
    const worker = fakeChild(70);
    supervisor.keep(worker, 'process', task('start', 'worker'));
    worker.exit({ exitCode: 2, signal: undefined });
    await settle();
    expect(controller.signal.reason).toBeInstanceOf(ProcessExitedError);
    const result = await supervisor.shutdown({
      kind: 'failed',
      error: new TaskFailedError('start:web', 'x'),
    });
    expect(result.exitCode).toBe(2);
    supervisor.dispose();
  });
});

describe('litestream', () => {
  test('exits while the app runs: restarted without touching the processes, and must recover', async () => {
    const { supervisor, notes } = setup();
    const web = fakeChild(80);
    const first = fakeChild(81);
    let second: FakeChild | undefined;
    const policy = restartPolicy(() => (second = fakeChild(82)), {
      onFailureOnly: false,
      awaitReady: () => Promise.resolve('litestream has taken over primary again'),
    });
    supervisor.keep(first, 'replication', task('replicate', 'litestream'), { restart: policy });
    supervisor.keep(web, 'process', task('start', 'web'));
    const outcome = supervisor.supervise();
    first.exit({ exitCode: 1, signal: undefined });
    await settle();
    await settle();
    expect(second).toBeDefined();
    expect(web.stops).toEqual([]);
    expect(notes()).toContain('litestream has taken over primary again 0 ms after the restart');
    expect(notes()[0]).toMatch(
      /^litestream exited with code 1; restarting in 1000 ms \(restart 1 of 3\); the app keeps running/,
    );
    second!.exit({ exitCode: undefined, signal: 'SIGKILL' });
    await settle();
    // Still within its bound: restarted again, nothing ended.
    const raced = await Promise.race([outcome, settle().then(() => 'pending')]);
    expect(raced).toBe('pending');
    supervisor.dispose();
  });

  test('a restarted Litestream that does not take over ends supervision with exit 1', async () => {
    const { supervisor } = setup();
    const first = fakeChild(90);
    const policy = restartPolicy(() => fakeChild(91), {
      onFailureOnly: false,
      awaitReady: () => Promise.reject(new Error('it has not taken over primary within 60s')),
    });
    supervisor.keep(first, 'replication', task('replicate', 'litestream'), { restart: policy });
    supervisor.keep(fakeChild(92), 'process', task('start', 'web'));
    const outcome = supervisor.supervise();
    first.exit({ exitCode: 1, signal: undefined });
    const result = await supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    expect(result.exitCode).toBe(1);
    expect(result.error).toBeInstanceOf(ReplicationError);
    expect(result.stops.map((s) => s.task)).toEqual(['start:web', 'replicate']);
    supervisor.dispose();
  });

  test('down when shutdown begins: started once more, given its grace to take over, then stopped last', async () => {
    const { supervisor, signals, time, notes } = setup({ holdSleeps: true });
    const first = fakeChild(100);
    let restarted: FakeChild | undefined;
    let tookOver!: () => void;
    const policy = restartPolicy(() => (restarted = fakeChild(101)), {
      onFailureOnly: false,
      awaitReady: () =>
        new Promise<string>((resolve) => {
          tookOver = () => resolve('litestream has taken over primary again');
        }),
    });
    const web = fakeChild(102);
    supervisor.keep(first, 'replication', task('replicate', 'litestream'), { restart: policy });
    supervisor.keep(web, 'process', task('start', 'web'));
    const outcome = supervisor.supervise();
    first.exit({ exitCode: undefined, signal: 'SIGKILL' });
    await settle();
    expect(time.sleeps).toEqual([1000]); // the backoff, held
    signals.send('SIGTERM');
    const stopping = supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    await settle();
    expect(restarted).toBeDefined(); // the backoff ended at once: shutdown needs its final sync
    expect(restarted!.stops).toEqual([]); // not stopped before it has taken over
    expect(notes()).toContain(
      'waiting up to 7000 ms for the restarted process to take over before stopping it',
    );
    tookOver();
    const result = await stopping;
    expect(result.stops.map((s) => [s.task, s.pid])).toEqual([
      ['start:web', 102],
      ['replicate', 101],
    ]);
    expect(result.exitCode).toBe(0);
    supervisor.dispose();
  });

  test('processes exiting during shutdown are not restarted', async () => {
    const { supervisor, signals } = setup();
    let starts = 0;
    const worker = fakeChild(110);
    supervisor.keep(worker, 'process', task('start', 'worker'), {
      restart: restartPolicy(() => {
        starts += 1;
        return fakeChild(111);
      }),
    });
    const outcome = supervisor.supervise();
    signals.send('SIGTERM');
    const result = await supervisor.shutdown({ kind: 'supervised', outcome: await outcome });
    await settle();
    expect(starts).toBe(0);
    expect(result.stops).toHaveLength(1);
    supervisor.dispose();
  });
});
