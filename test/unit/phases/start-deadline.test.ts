// The readiness deadline must come even when the garbage collector runs before it: Node 20's
// AbortSignal.any() holds an AbortSignal.timeout() weakly, and once collected its timer never fired,
// which hung a loaded test run on a process answering 500 forever (phases/start/deadline.ts).

import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, test } from 'vitest';
import { withDeadline } from '../../../phases/start/deadline.js';

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
