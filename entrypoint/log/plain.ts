// Plain renderer: one timestamped line per event, for Docker logs and anything that is not a TTY.
// `2026-11-22T10:00:00.123Z [migrate:queue] …`. No colours. Every field is escaped (escapeControl): a
// child's line, and bootseq's own lines too, since they quote foreign text (a file name, a process's
// name, Litestream's error): no line can be forged with a newline and no raw ESC reaches the terminal.
// A hint is the only second line an event has, and it is escaped the same way.

import { elapsed } from '../../core/format.js';
import { escapeControl } from '../../core/errors.js';
import { outputLabel, type BootEvent, type Reporter } from '../../core/events.js';

export { escapeControl };

type Formatters = { [K in BootEvent['event']]: (e: Extract<BootEvent, { event: K }>) => string | undefined };

const esc = escapeControl;

const formatters: Formatters = {
  plan: (e) => `boot plan: ${e.tasks.length} tasks (${esc(e.tasks.map((t) => t.id).join(', '))})`,
  'task-start': (e) => `[${esc(e.task)}] started`,
  'task-output': (e) => `[${esc(outputLabel(e))}] ${esc(e.line)}`,
  'task-end': (e) =>
    e.status === 'skipped'
      ? `[${esc(e.task)}] skipped`
      : `[${esc(e.task)}] ${e.status === 'ok' ? 'ok' : e.status.toUpperCase()} in ${e.duration_ms} ms${e.error ? `: ${esc(e.error)}` : ''}`,
  ready: (e) => `${describeReadyEvent(e)}; supervising (SIGTERM or Ctrl+C stops everything in order)`,
  stopped: (e) =>
    `[${esc(e.task)}] stopped in ${elapsed(e.duration_ms)}: ${esc(e.exit)}${e.note ? ` (${esc(e.note)})` : ''}`,
  note: (e) =>
    `${e.task ? `[${esc(e.task)}] ` : ''}${e.level === 'info' ? '' : `${e.level}: `}${esc(e.text)}${e.hint ? `\n  Try: ${esc(e.hint)}` : ''}`,
};

/** `ready in 1.4 s: worker; web on http://127.0.0.1:3000`: what runs, and where it answered. */
export function describeReadyEvent(e: Extract<BootEvent, { event: 'ready' }>): string {
  const what =
    e.processes.length > 0
      ? e.processes
          .map((p) =>
            e.addresses[p] ? `${escapeControl(p)} on ${escapeControl(e.addresses[p])}` : escapeControl(p),
          )
          .join('; ')
      : 'litestream (no processes)';
  return `ready in ${elapsed(e.duration_ms)}: ${what}`;
}

/** An event's text without a time stamp (lines after the first are a hint: `  Try: …`). */
export function formatText(event: BootEvent): string | undefined {
  const format = formatters[event.event] as (e: BootEvent) => string | undefined;
  return format(event);
}

export function formatPlain(event: BootEvent, now: Date = new Date()): string | undefined {
  const text = formatText(event);
  if (text === undefined) return undefined;
  const stamp = now.toISOString();
  return text
    .split('\n')
    .map((line) => `${stamp} ${line}`)
    .join('\n');
}

export function createPlainReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  return {
    emit(event) {
      const line = formatPlain(event);
      if (line !== undefined) out.write(`${line}\n`);
    },
    close: async () => {},
  };
}
