// JSON renderer: one object per line, for log pipelines. Every line opens with `time`, `level` and
// `msg`, the keys pino, bunyan, slog and most pipelines look for, then the event's own fields
// (snake_case): `event`, `task`, … A note's words are its `msg` (the key was `text` before; nothing
// reads that any more). `msg` never carries the `[task]` prefix the plain format shows: `task` says it.

import { elapsed } from '../../core/format.js';
import type { BootEvent, Reporter } from '../../core/events.js';
import type { NoteLevel } from '../../core/task.js';
import { describeReadyEvent } from './plain.js';

type Level = NoteLevel;

/** The level and the message of each kind of event, as a pipeline would want them. */
function levelAndMsg(event: BootEvent): { level: Level; msg: string } {
  switch (event.event) {
    case 'plan':
      return { level: 'info', msg: `boot plan: ${event.tasks.length} tasks` };
    case 'task-start':
      return { level: 'info', msg: `${event.task} started` };
    case 'task-output':
      return { level: 'info', msg: event.line };
    case 'task-end':
      return {
        level: event.status === 'failed' ? 'error' : event.status === 'cancelled' ? 'warn' : 'info',
        msg:
          event.status === 'skipped'
            ? `${event.task} skipped`
            : `${event.task} ${event.status === 'ok' ? 'ok' : event.status} in ${event.duration_ms} ms${event.error ? `: ${event.error}` : ''}`,
      };
    case 'ready':
      return { level: 'info', msg: describeReadyEvent(event) };
    case 'stopped':
      return {
        level: 'info',
        msg: `${event.task} stopped in ${elapsed(event.duration_ms)}: ${event.exit}${event.note ? ` (${event.note})` : ''}`,
      };
    case 'note':
      return { level: event.level, msg: event.text };
  }
}

export function formatJson(event: BootEvent, now: Date = new Date()): string {
  const { level, msg } = levelAndMsg(event);
  // A note's `level` is already first and its `text` is the `msg`: neither is repeated.
  const fields: Record<string, unknown> = { ...event };
  if (event.event === 'note') {
    delete fields['text'];
    delete fields['level'];
  }
  return JSON.stringify({ time: now.toISOString(), level, msg, ...fields });
}

export function createJsonReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  return {
    emit(event) {
      out.write(`${formatJson(event)}\n`);
    },
    close: async () => {},
  };
}
