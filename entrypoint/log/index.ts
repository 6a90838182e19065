// Picks the renderer: `auto` is pretty on a TTY, plain otherwise. listr2 is loaded only for pretty.

import type { Reporter } from '../../core/events.js';
import { createJsonReporter } from './json.js';
import { createPlainReporter } from './plain.js';

export const LOG_FORMATS = ['auto', 'pretty', 'plain', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

function resolveLogFormat(format: LogFormat): Exclude<LogFormat, 'auto'> {
  if (format !== 'auto') return format;
  return process.stdout.isTTY ? 'pretty' : 'plain';
}

export async function createReporter(format: LogFormat): Promise<Reporter> {
  switch (resolveLogFormat(format)) {
    case 'json':
      return createJsonReporter();
    case 'plain':
      return createPlainReporter();
    case 'pretty': {
      const { createPrettyReporter } = await import('./pretty.js');
      return createPrettyReporter();
    }
  }
}
