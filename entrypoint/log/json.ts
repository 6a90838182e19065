// JSON renderer: one object per line, snake_case, `time` first. For log pipelines.

import type { BootEvent, Reporter } from '../core/events.js';

export function formatJson(event: BootEvent, now: Date = new Date()): string {
  return JSON.stringify({ time: now.toISOString(), ...event });
}

export function createJsonReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  return {
    emit(event) {
      out.write(`${formatJson(event)}\n`);
    },
    close: async () => {},
  };
}
