// Plain renderer: one timestamped line per event, for Docker logs and anything that is not a TTY.
// `2026-11-22T10:00:00.123Z [migrate:queue] …`. No colours.

import { outputLabel, type BootEvent, type Reporter } from '../core/events.js';

type Formatters = { [K in BootEvent['event']]: (e: Extract<BootEvent, { event: K }>) => string | undefined };

const formatters: Formatters = {
  plan: (e) => `boot plan: ${e.tasks.length} tasks (${e.tasks.map((t) => t.id).join(', ')})`,
  'task-start': (e) => `[${e.task}] started`,
  'task-output': (e) => `[${outputLabel(e.task)}] ${escapeControl(e.line)}`,
  'task-end': (e) =>
    e.status === 'skipped'
      ? `[${e.task}] skipped`
      : `[${e.task}] ${e.status === 'ok' ? 'ok' : e.status.toUpperCase()} in ${e.duration_ms} ms${e.error ? `: ${e.error}` : ''}`,
  ready: (e) => `${describeReadyEvent(e)}; supervising (SIGTERM or Ctrl+C stops everything in order)`,
  stopped: (e) =>
    `[${e.task}] stopped in ${shortDuration(e.duration_ms)}: ${e.exit}${e.note ? ` (${e.note})` : ''}`,
  note: (e) =>
    `${e.task ? `[${e.task}] ` : ''}${e.level === 'info' ? '' : `${e.level}: `}${e.text}${e.hint ? `\n  Try: ${e.hint}` : ''}`,
};

/** `ready in 1.4 s: worker; web on http://127.0.0.1:3000`: what runs, and where it answered. */
export function describeReadyEvent(e: Extract<BootEvent, { event: 'ready' }>): string {
  const what =
    e.processes.length > 0
      ? e.processes.map((p) => (e.addresses[p] ? `${p} on ${e.addresses[p]}` : p)).join('; ')
      : 'litestream (no processes)';
  return `ready in ${shortDuration(e.duration_ms)}: ${what}`;
}

/** `850 ms`, `1.4 s`, `75 s`. */
export function shortDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/**
 * A child's bytes as printable text: control characters (NUL, ESC sequences that clear the screen or
 * set the terminal's title, CR, DEL, the C1 range) become `\x1b`-style escapes, as the JSON format
 * escapes them. Tabs stay. One pass over the line.
 */
export function escapeControl(line: string): string {
  return line.replace(
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
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
