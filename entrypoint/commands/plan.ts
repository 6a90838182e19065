// `bootseq plan`: the task graph the config yields, secrets redacted. Touches nothing: no database is
// opened, no process started, no report written.

import { buildGraph, topologicalOrder, UNTIL } from '../../core/graph.js';
import { EXIT_OK } from '../../core/exit.js';
import type { CommandContext, CommandSpec } from './context.js';

export const spec: CommandSpec = {
  name: 'plan',
  usage: [
    {
      synopsis: 'plan [--until PHASE]',
      summary: 'print the task graph the config yields; touches nothing',
      details: 'Print the tasks the config yields, what each waits for and what it runs. Touches nothing.',
    },
  ],
  options: {
    until: {
      type: 'string',
      value: 'PHASE',
      choices: UNTIL,
      help: 'only the tasks `bootseq up --until PHASE` would run',
    },
  },
};

export async function run(cmd: CommandContext): Promise<number> {
  const [{ loadConfig }, { PHASE_LIST }] = await Promise.all([
    import('../../config/load.js'),
    import('../../phases/index.js'),
  ]);
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
          ...(t.phase === 'service'
            ? { before: tasks.filter((w) => w.after.includes(t.id)).map((w) => w.id) }
            : {}),
          describe: t.describe,
        })),
      }),
    );
    return EXIT_OK;
  }
  const width = Math.max(...tasks.map((t) => t.id.length), 4);
  const lines = [`${tasks.length} tasks from ${config.file} (nothing was touched):`, ''];
  for (const t of tasks) {
    lines.push(`${t.id.padEnd(width)}  ${t.describe}`);
    lines.push(`${''.padEnd(width)}  after: ${t.after.length ? t.after.join(', ') : '(nothing)'}`);
    // A service is a prerequisite: who waits for it is what the operator asks of it.
    if (t.phase === 'service') {
      const waiters = tasks.filter((w) => w.after.includes(t.id)).map((w) => w.id);
      lines.push(`${''.padEnd(width)}  before: ${waiters.join(', ')}`);
    }
  }
  for (const w of config.warnings) lines.push('', `warn: ${w}`);
  cmd.print(lines.join('\n'));
  return EXIT_OK;
}
