// The one abortable wait (core/wait.ts): settled once by the first of the work's answer, the time
// bound and the signal, with the work undone. The deadline must come even when the garbage collector
// runs before it: Node 20's AbortSignal.any() holds an AbortSignal.timeout() weakly, and once collected
// its timer never fired, which hung a loaded test run on a process answering 500 forever.

import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, test } from 'vitest';
import { waitFor, withDeadline } from '../../../core/wait.js';

v8.setFlagsFromString('--expose-gc');
const gc: () => void = vm.runInNewContext('gc') as () => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withDeadline', () => {
  test('aborts after ms even with collections before it, ten times', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const outer = new AbortController();
        const deadline = withDeadline(outer.signal, 150);
        let fired: unknown;
        deadline.signal.addEventListener('abort', () => {
          fired = deadline.signal.reason as unknown;
        });
        for (let i = 0; i < 3; i += 1) {
          gc();
          await sleep(20);
        }
        await sleep(250);
        return fired;
      }),
    );
    for (const reason of results) expect((reason as DOMException).name).toBe('TimeoutError');
  });

  test('aborts with the outer reason when the outer signal aborts first; dispose stops what listens', () => {
    const outer = new AbortController();
    const deadline = withDeadline(outer.signal, 10_000);
    outer.abort(new Error('SIGTERM'));
    expect((deadline.signal.reason as Error).message).toBe('SIGTERM');
    const other = withDeadline(new AbortController().signal, 10_000);
    expect(other.signal.aborted).toBe(false);
    other.dispose();
    expect((other.signal.reason as DOMException).name).toBe('AbortError');
  });
});

describe('waitFor', () => {
  test('resolves with the answer of the work and undoes the work, once; later answers are ignored', async () => {
    let undone = 0;
    let answer: (value: string) => void = () => {};
    const waiting = waitFor<string>(new AbortController().signal, (settle) => {
      answer = settle;
      return () => (undone += 1);
    });
    answer('first');
    answer('second');
    expect(await waiting).toBe('first');
    expect(undone).toBe(1);
  });

  test('an answer given while the work starts still undoes the work', async () => {
    let undone = 0;
    const value = await waitFor<number>(new AbortController().signal, (settle) => {
      settle(7);
      return () => (undone += 1);
    });
    expect(value).toBe(7);
    expect(undone).toBe(1);
  });

  test('after ms: the timeout value, or a TimeoutError without one; the work is undone', async () => {
    let undone = 0;
    const never = () => () => (undone += 1);
    const signal = new AbortController().signal;
    expect(await waitFor(signal, never, { ms: 20, timeout: () => 'late' })).toBe('late');
    const rejected = await waitFor(signal, never, { ms: 20 }).catch((error: unknown) => error);
    expect((rejected as DOMException).name).toBe('TimeoutError');
    expect((rejected as DOMException).message).toBe('no answer within 20 ms');
    expect(undone).toBe(2);
  });

  test('after ms even with collections before it, ten times', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const waiting = waitFor(new AbortController().signal, () => () => {}, {
          ms: 150,
          timeout: () => 'timed out',
        });
        for (let i = 0; i < 3; i += 1) {
          gc();
          await sleep(20);
        }
        return waiting;
      }),
    );
    expect(results).toEqual(Array.from({ length: 10 }, () => 'timed out'));
  });

  test('on abort: the aborted value, or a rejection with the reason; the timer cleared', async () => {
    const outer = new AbortController();
    let undone = 0;
    const valued = waitFor(outer.signal, () => () => (undone += 1), {
      ms: 10_000,
      aborted: () => 'interrupted',
    });
    const bare = waitFor(outer.signal, () => () => (undone += 1), { ms: 10_000 });
    outer.abort(new Error('SIGTERM'));
    expect(await valued).toBe('interrupted');
    await expect(bare).rejects.toThrow('SIGTERM');
    expect(undone).toBe(2);
  });

  test('an already aborted signal settles at once and never starts the work', async () => {
    const outer = new AbortController();
    outer.abort(new Error('gone'));
    let started = false;
    const work = () => {
      started = true;
      return () => {};
    };
    expect(await waitFor(outer.signal, work, { aborted: () => 'interrupted' })).toBe('interrupted');
    await expect(waitFor(outer.signal, work)).rejects.toThrow('gone');
    expect(started).toBe(false);
  });
});
