// A signal that aborts when `signal` does or after `ms`, whichever comes first. Not
// AbortSignal.any([signal, AbortSignal.timeout(ms)]): Node 20 holds any()'s sources weakly, and a
// timeout signal nothing else references is collected with its timer, so under GC pressure the
// deadline never came (measured: `node --expose-gc`, gc() before the timeout, the composite never
// fires). That was the readiness wait that hung a loaded test run with a process answering 500
// forever. A plain timer, held until `dispose`.

export interface Deadline {
  readonly signal: AbortSignal;
  /** The wait is over, whatever ended it: clears the timer and aborts what still listens. */
  dispose(): void;
}

export function withDeadline(signal: AbortSignal, ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')),
    ms,
  );
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      controller.abort(new DOMException('the wait is over', 'AbortError'));
    },
  };
}
