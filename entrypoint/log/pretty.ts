// Pretty renderer for a TTY. During boot, a listr2 list mirroring the plan is the summary of the
// boot: each row shows its task's latest line while it runs, then its time and the one-line summary
// the task gave (`2 applied (sqlx)`, `7 gates passed`), and keeps its warnings and errors under it.
// The details (every gate, every migration) are not replayed: plain, json and the run report have
// them. Once the app is ready, one line where it runs, then the app's output and bootseq's events with
// short local times, and the ordered shutdown as a short list. The only listr2 import. listr2 must not
// own signals (registerSignalListeners: false), or Ctrl+C would exit 127 instead of shutting down in
// order. Every text it shows is escaped (escapeControl), bootseq's own lines too: they quote foreign
// text.

import { elapsed } from '../../core/format.js';
import { Listr, type ListrDefaultRenderer, type ListrSimpleRenderer, type ListrTaskWrapper } from 'listr2';
import { outputLabel, type BootEvent, type Reporter, type TaskStatus } from '../../core/events.js';
import { describeReadyEvent, escapeControl, formatText } from './plain.js';

interface Row {
  readonly started: Deferred<void>;
  readonly ended: Deferred<{ status: TaskStatus; error?: string | undefined; durationMs: number }>;
  wrapper: { output: string; title: string; skip(message?: string): void } | undefined;
  /** The task has ended: later lines of a still-running process print as plain lines. */
  done: boolean;
  summary: string | undefined;
  /** Its warnings and errors: they stay under the row. */
  readonly kept: string[];
  /** The latest line, for when listr2 has not handed the row its wrapper yet. */
  latest: string | undefined;
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

/**
 * Shows text under the task's row (once listr2 has started it; until then the latest is kept for it).
 * The row's own lines never fall out of the list: the list is the summary.
 */
function setOutput(row: Row, text: string): true {
  row.latest = text;
  try {
    if (row.wrapper) row.wrapper.output = text;
  } catch {
    // listr2 has finished the row: nothing more to show there
  }
  return true;
}

/** `17:23:26`: local time, for a person watching. */
function clock(now = new Date()): string {
  return now.toTimeString().slice(0, 8);
}

/** slog's `time=… level=INFO msg="…" k=v` without the time (the line has one) and the INFO. */
function compact(line: string): string {
  return line.replace(/^time=\S+ /, '').replace(/^level=INFO /, '');
}

/** One event as a line after the list (or while it runs, for what belongs to no row). */
function formatLine(event: BootEvent): string | undefined {
  switch (event.event) {
    case 'ready':
      return `✔ ${describeReadyEvent(event)} · Ctrl+C stops everything in order`;
    case 'stopped':
      return `  ✔ ${escapeControl(outputLabel(event)).padEnd(12)} stopped in ${elapsed(event.duration_ms)}: ${escapeControl(event.exit)}${event.note ? ` · ${escapeControl(event.note)}` : ''}`;
    case 'task-output':
      return `${clock()} ${escapeControl(outputLabel(event))}  ${compact(escapeControl(event.line))}`;
    default: {
      const text = formatText(event);
      return text === undefined ? undefined : `${clock()} ${text}`;
    }
  }
}

/** What the reporter holds between events: the rows of the list while it shows, and what waits for it. */
interface PrettyState {
  readonly out: NodeJS.WriteStream;
  readonly rows: Map<string, Row>;
  listing: Promise<void> | undefined;
  /** The list is on screen: lines wait in `queued` until it is gone. */
  live: boolean;
  readonly queued: string[];
}

export function createPrettyReporter(out: NodeJS.WriteStream = process.stdout): Reporter {
  const state: PrettyState = { out, rows: new Map(), listing: undefined, live: false, queued: [] };
  return {
    emit(event) {
      if (event.event === 'plan' && !state.listing && event.tasks.length > 0) {
        startList(state, event.tasks);
        return;
      }
      const row = 'task' in event && event.task ? state.rows.get(event.task) : undefined;
      if (state.live && row && !row.done && intoRow(event, row)) return;
      // A summary belongs beside its row; once the list is gone it says nothing new.
      if (event.event === 'note' && event.summary) return;
      if (event.event === 'ready') finishList(state);
      writeLine(state, event);
    },
    async close() {
      finishList(state);
      await state.listing;
    },
  };
}

/** On the plan: one row per task, and the listr2 list that mirrors them until the last one ends. */
function startList(state: PrettyState, tasks: readonly { readonly id: string }[]): void {
  for (const t of tasks)
    state.rows.set(t.id, {
      started: deferred(),
      ended: deferred(),
      wrapper: undefined,
      done: false,
      summary: undefined,
      kept: [],
      latest: undefined,
    });
  const list = new Listr<unknown, 'default', 'simple'>(
    tasks.map((t) => mirrorTask(t.id, state.rows)),
    { concurrent: true, exitOnError: false, registerSignalListeners: false, collectErrors: false },
  );
  state.live = true;
  state.listing = list
    .run()
    .then(
      () => undefined,
      () => undefined,
    )
    .finally(() => {
      state.live = false;
      for (const line of state.queued.splice(0)) state.out.write(`${line}\n`);
    });
}

function writeLine(state: PrettyState, event: BootEvent): void {
  const line = formatLine(event);
  if (line === undefined) return;
  if (state.live) state.queued.push(line);
  else state.out.write(`${line}\n`);
}

/** Ends the list: rows that never started are shown skipped. */
function finishList(state: PrettyState): void {
  for (const row of state.rows.values()) {
    row.started.resolve();
    row.ended.resolve({ status: 'skipped', durationMs: 0 });
  }
}

/** Whether a live row took the event. */
function intoRow(event: BootEvent, row: Row): boolean {
  switch (event.event) {
    case 'task-start':
      row.started.resolve();
      return true;
    case 'task-output':
      return setOutput(row, compact(escapeControl(event.line)));
    case 'note': {
      // bootseq's own lines quote foreign text (file names, Litestream's errors): escaped, as in plain.
      const text = escapeControl(event.text);
      if (event.summary) {
        row.summary = text;
        return true;
      }
      if (event.level === 'info') return setOutput(row, text);
      row.kept.push(`${event.level}: ${text}${event.hint ? `\n  Try: ${escapeControl(event.hint)}` : ''}`);
      return setOutput(row, `${event.level}: ${text}`);
    }
    case 'task-end':
      row.done = true;
      row.started.resolve();
      row.ended.resolve({
        status: event.status,
        error: event.error === undefined ? undefined : escapeControl(event.error),
        durationMs: event.duration_ms,
      });
      return true;
    default:
      return false;
  }
}

/** A listr2 task that mirrors one bootseq task: waits for its start, shows its end and summary. */
function mirrorTask(id: string, rows: ReadonlyMap<string, Row>) {
  return {
    title: `${id}  (waiting)`,
    rendererOptions: { persistentOutput: false, outputBar: 1 },
    task: async (
      _ctx: unknown,
      task: ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>,
    ) => {
      const row = rows.get(id);
      if (!row) return;
      row.wrapper = task as unknown as Row['wrapper'];
      if (row.latest !== undefined) task.output = row.latest;
      await row.started.promise;
      task.title = id;
      const end = await row.ended.promise;
      // What stays under the row once it is done: its warnings and errors, not its routine lines.
      const kept = row.kept.map((line) => `\n${line}`).join('');
      if (end.status === 'skipped') task.skip(`${id} (skipped)`);
      else if (end.status !== 'ok') throw new Error(`${end.error ?? `${id} ${end.status}`}${kept}`);
      else task.title = `${id}  ${elapsed(end.durationMs)}${row.summary ? ` · ${row.summary}` : ''}${kept}`;
    },
  };
}
