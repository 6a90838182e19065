// The one abortable wait, in the style of node:timers/promises' setTimeout with a signal: whichever
// comes first of the work's own answer, `ms` elapsed and the signal aborted settles it, once; the
// timer is cleared, the abort listener removed and the work undone before it settles. Knows no phase.
//
// The timer is a plain setTimeout, never AbortSignal.any([signal, AbortSignal.timeout(ms)]): Node 20
// holds any()'s sources weakly, and a timeout signal nothing else references is collected with its
// timer, so under GC pressure the deadline never came (measured: `node --expose-gc`, gc() before the
// timeout, the composite never fires). That was the readiness wait that hung a loaded test run with a
// process answering 500 forever. A pending timer is held by the event loop until it fires or is cleared.

/** What ends a wait besides the work's own answer; without `timeout`/`aborted` it rejects instead. */
export interface WaitEnds<T> {
  /** How long the wait may take; undefined: until the work answers or the signal aborts. */
  readonly ms?: number | undefined;
  /** The value once `ms` has passed; without it the wait rejects with a TimeoutError. */
  readonly timeout?: () => T;
  /** The value once the signal aborts; without it the wait rejects with the signal's reason. */
  readonly aborted?: () => T;
}

/**
 * Starts `work`, which calls `settle` with its answer and returns how to undo itself (destroy a socket,
 * remove a listener); resolves with the first of that answer, `ends.timeout()` after `ends.ms` and
 * `ends.aborted()` on abort. The work is not started when the signal has already aborted.
 */
export function waitFor<T>(
  signal: AbortSignal,
  work: (settle: (value: T) => void) => () => void,
  ends: WaitEnds<T> = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let undo: (() => void) | undefined;
    const finish = (outcome: () => T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      try {
        resolve(outcome());
      } catch (error) {
        reject(error as Error);
      } finally {
        undo?.();
      }
    };
    const onAbort = () =>
      finish(
        ends.aborted ??
          (() => {
            throw signal.reason as Error;
          }),
      );
    const onTimeout = () =>
      finish(
        ends.timeout ??
          (() => {
            throw new DOMException(`no answer within ${ends.ms} ms`, 'TimeoutError');
          }),
      );
    const timer = ends.ms === undefined ? undefined : setTimeout(onTimeout, ends.ms);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const undoWork = work((value) => finish(() => value));
    // The work may have answered before it returned its undo: undo it now.
    if (settled) undoWork();
    else undo = undoWork;
  });
}

export interface Deadline {
  readonly signal: AbortSignal;
  /** The wait is over, whatever ended it: clears the timer and aborts what still listens. */
  dispose(): void;
}

/** A signal that aborts when `signal` does or after `ms`, whichever comes first (see above: no AbortSignal.timeout). */
export function withDeadline(signal: AbortSignal, ms: number): Deadline {
  const controller = new AbortController();
  let over = () => {};
  void waitFor<void>(
    signal,
    (settle) => {
      over = settle;
      return () => controller.abort(new DOMException('the wait is over', 'AbortError'));
    },
    {
      ms,
      timeout: () => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')),
      aborted: () => controller.abort(signal.reason),
    },
  );
  return { signal: controller.signal, dispose: () => over() };
}
