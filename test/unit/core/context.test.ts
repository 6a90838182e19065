// The task context a phase gets: notes under the task's id, commands run to completion with the
// interrupt forwarded, children stopped with the signal the operator sent. The spawner is a fake.

import { describe, expect, test } from 'vitest';
import { createTaskContext } from '../../../core/context.js';
import { InterruptedError, TaskFailedError } from '../../../core/errors.js';
import type { BootEvent } from '../../../core/events.js';
import type { Spawner } from '../../../core/spawn.js';
import type { Config } from '../../../config/schema.js';
import type { Child, ChildExit, CommandSpec } from '../../../core/task.js';

function fakeChild(display: string, onStop: (signal: string) => ChildExit | undefined) {
  let resolve!: (e: ChildExit) => void;
  const exited = new Promise<ChildExit>((r) => {
    resolve = r;
  });
  const stops: string[] = [];
  const child: Child & { exit(e: ChildExit): void; stops: string[] } = {
    pid: 4242,
    display,
    exited,
    hasExited: false,
    outputTail: () => ['Error: relation "users" does not exist'],
    onLine: () => () => undefined,
    stop(_graceMs, signal = 'SIGTERM') {
      stops.push(signal);
      const exit = onStop(signal);
      if (exit) resolve(exit);
      return exited;
    },
    exit: (e) => resolve(e),
    stops,
  };
  return child;
}

function setup() {
  const events: BootEvent[] = [];
  const started: CommandSpec[] = [];
  const children: ReturnType<typeof fakeChild>[] = [];
  let loads = 0;
  const spawner: Spawner = {
    load: () => {
      loads += 1;
      return Promise.resolve();
    },
    start: (spec) => {
      started.push(spec);
      const child = fakeChild(
        typeof spec.command === 'string' ? spec.command : spec.command.file,
        (signal) => ({
          exitCode: undefined,
          signal,
        }),
      );
      children.push(child);
      return child;
    },
  };
  const config = {
    dir: '/srv/app',
    env: {},
    redact: (t: string) => t.replace('hunter2', '***'),
    shutdown: { graceMs: 3000, replicationGraceMs: 5000 },
  } as unknown as Config;
  const controller = new AbortController();
  const exitCodes: (number | undefined)[] = [];
  const facts: Record<string, unknown> = {};
  const ctx = createTaskContext(
    { id: 'migrate:primary', phase: 'migrate', target: 'primary' },
    {
      config,
      signal: controller.signal,
      spawner,
      emit: (e) => events.push(e),
      keep: () => undefined,
      background: () => undefined,
      setExitCode: (code) => exitCodes.push(code),
      facts,
    },
  );
  return { ctx, events, started, children, controller, exitCodes, facts, loads: () => loads };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createTaskContext', () => {
  test('notes carry the task id, and a hint only when given', () => {
    const { ctx, events } = setup();
    ctx.note('info', 'applied 3 migrations');
    ctx.note('error', 'gate wal failed', 'run `bootseq verify primary`');
    expect(events).toEqual([
      { event: 'note', level: 'info', task: 'migrate:primary', text: 'applied 3 migrations' },
      {
        event: 'note',
        level: 'error',
        task: 'migrate:primary',
        text: 'gate wal failed',
        hint: 'run `bootseq verify primary`',
      },
    ]);
  });

  test('start loads the spawner itself and runs in the config folder; output becomes task-output', async () => {
    const { ctx, started, loads } = setup();
    await ctx.start({ command: 'bin/jobs' });
    expect(loads()).toBe(1);
    expect(started[0]).toMatchObject({ command: 'bin/jobs', cwd: '/srv/app' });
  });

  test('run: a non-zero exit is a TaskFailedError naming the command, code and output; the code is recorded', async () => {
    const { ctx, children, exitCodes } = setup();
    const running = ctx.run({ command: 'bin/rails db:migrate PASSWORD=hunter2' });
    await tick();
    children[0]!.exit({ exitCode: 3, signal: undefined });
    const error = (await running.catch((e: unknown) => e)) as TaskFailedError;
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error.message).toMatch(
      /^migrate:primary failed: `bin\/rails db:migrate PASSWORD=\*\*\*` exited with code 3/,
    );
    expect(error.childExitCode).toBe(3);
    expect(error.outputTail).toEqual(['Error: relation "users" does not exist']);
    expect(error.hint).toBe('run `bin/rails db:migrate PASSWORD=***` in /srv/app to see the whole output');
    expect(exitCodes).toEqual([3]);
  });

  test('run: an interrupt reaches the command as the signal the operator sent', async () => {
    const { ctx, children, controller } = setup();
    const running = ctx.run({ command: 'sleep 30' });
    await tick();
    controller.abort(new InterruptedError('SIGINT'));
    const error = (await running.catch((e: unknown) => e)) as Error;
    expect(children[0]!.stops[0]).toBe('SIGINT');
    expect(error.message).toContain('`sleep 30` was stopped (interrupted by SIGINT');
  });

  test('stop: SIGTERM unless the run was interrupted, then that signal', async () => {
    const { ctx, controller } = setup();
    const a = await ctx.start({ command: 'a' });
    await ctx.stop(a);
    const b = await ctx.start({ command: 'b' });
    controller.abort(new InterruptedError('SIGHUP'));
    await ctx.stop(b);
    expect((a as ReturnType<typeof fakeChild>).stops).toEqual(['SIGTERM']);
    expect((b as ReturnType<typeof fakeChild>).stops).toEqual(['SIGHUP']);
  });

  test('start refuses once the run is aborted: nothing new starts', async () => {
    const { ctx, controller, started } = setup();
    controller.abort(new InterruptedError('SIGTERM'));
    await expect(ctx.start({ command: 'bin/jobs' })).rejects.toBeInstanceOf(InterruptedError);
    expect(started).toEqual([]);
  });

  test('record keeps facts for the report', () => {
    const { ctx, facts } = setup();
    ctx.record('restored', true);
    expect(facts).toEqual({ restored: true });
  });
});
