// `bootseq plan`: the task graph the config yields, secrets redacted. Touches nothing: no database is
// opened, no process started, no report written.

import { loadConfig } from '../config/load.js';
import { buildGraph, topologicalOrder } from '../core/graph.js';
import { PHASE_LIST } from '../../phases/index.js';
import type { CommandContext } from './context.js';

export const usage = `bootseq plan [--until PHASE]
  Print the tasks the config yields, what each waits for and what it runs. Touches nothing.`;

export function run(cmd: CommandContext): Promise<number> {
  const config = loadConfig(cmd.configPath);
  const tasks = topologicalOrder(buildGraph(PHASE_LIST, config, { until: cmd.until }));
  if (cmd.logFormat === 'json') {
    cmd.print(
      JSON.stringify({
        event: 'plan',
        tasks: tasks.map((t) => ({
          id: t.id,
          phase: t.phase,
          target: t.target,
          after: t.after,
          describe: t.describe,
        })),
      }),
    );
    return Promise.resolve(0);
  }
  const width = Math.max(...tasks.map((t) => t.id.length), 4);
  const lines = [`${tasks.length} tasks from ${config.file} (nothing was touched):`, ''];
  for (const t of tasks) {
    lines.push(`${t.id.padEnd(width)}  ${t.describe}`);
    lines.push(`${''.padEnd(width)}  after: ${t.after.length ? t.after.join(', ') : '(nothing)'}`);
  }
  for (const w of config.warnings) lines.push('', `warn: ${w}`);
  cmd.print(lines.join('\n'));
  return Promise.resolve(0);
}
