// Pretty renderer for a TTY: during boot, a listr2 list mirroring the plan (each row waits for its
// task's events); once the app is ready, plain lines. The only listr2 import. listr2 must not own
// signals (registerSignalListeners: false), or Ctrl+C would exit 127 instead of shutting down in order.

import { Listr, type ListrTaskWrapper } from 'listr2';
import type { BootEvent, Reporter, TaskStatus } from '../core/events.js';
import { escapeControl, formatPlain } from './plain.js';

interface Row {
  readonly started: Deferred<void>;
  readonly ended: Deferred<{ status: TaskStatus; error?: string | undefined; durationMs: number }>;
  wrapper: { output: string; title: string; skip(message?: string): void } | undefined;
  /** The task has ended: later lines of a still-running process print as plain lines. */
  done: boolean;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  promise.catch(() => {});
  return { promise, resolve };
}

/** Shows a line under the task's row; false when listr2 cannot take it (then it prints plain). */
function setOutput(row: Row, text: string): boolean {
  if (!row.wrapper) return false;
  try {
    row.wrapper.output = text;
    return true;
  } catch {
    return false;
  }
}

export function createPrettyReporter(out: NodeJS.WriteStream = process.stdout): Reporter {
  const rows = new Map<string, Row>();
  let listing: Promise<void> | undefined;
  let live = false;
  const queued: string[] = [];

  const writePlain = (event: BootEvent) => {
    const line = formatPlain(event);
    if (line === undefined) return;
    if (live) queued.push(line);
    else out.write(`${line}\n`);
  };

  const finishList = () => {
    for (const row of rows.values()) {
      row.started.resolve();
      row.ended.resolve({ status: 'skipped', durationMs: 0 });
    }
  };

  return {
    emit(event) {
      if (event.event === 'plan' && !listing && event.tasks.length > 0) {
        for (const t of event.tasks)
          rows.set(t.id, { started: deferred(), ended: deferred(), wrapper: undefined, done: false });
        const list = new Listr(
          event.tasks.map((t) => mirrorTask(t.id, rows)),
          { concurrent: true, exitOnError: false, registerSignalListeners: false, collectErrors: false },
        );
        live = true;
        listing = list
          .run()
          .then(
            () => undefined,
            () => undefined,
          )
          .finally(() => {
            live = false;
            for (const line of queued.splice(0)) out.write(`${line}\n`);
          });
        return;
      }
      const row = 'task' in event && event.task ? rows.get(event.task) : undefined;
      if (live && row && !row.done) {
        switch (event.event) {
          case 'task-start':
            row.started.resolve();
            return;
          case 'task-output':
            if (setOutput(row, escapeControl(event.line))) return;
            break;
          case 'note':
            if (
              setOutput(row, event.level === 'info' ? event.text : `${event.level}: ${event.text}`) &&
              event.level === 'info'
            )
              return;
            break;
          case 'task-end':
            row.done = true;
            row.started.resolve();
            row.ended.resolve({ status: event.status, error: event.error, durationMs: event.duration_ms });
            return;
          default:
            break;
        }
      }
      if (event.event === 'ready') finishList();
      writePlain(event);
    },
    async close() {
      finishList();
      await listing;
    },
  };
}

/** A listr2 task that mirrors one bootseq task: waits for its start, shows its end. */
function mirrorTask(id: string, rows: ReadonlyMap<string, Row>) {
  return {
    title: `${id}  (waiting)`,
    task: async (_ctx: unknown, task: ListrTaskWrapper<unknown, never, never>) => {
      const row = rows.get(id);
      if (!row) return;
      row.wrapper = task as unknown as Row['wrapper'];
      await row.started.promise;
      task.title = id;
      const end = await row.ended.promise;
      if (end.status === 'skipped') task.skip(`${id} (skipped)`);
      else if (end.status !== 'ok') throw new Error(`${id}: ${end.error ?? end.status}`);
      else task.title = `${id}  ${end.durationMs} ms`;
    },
  };
}
