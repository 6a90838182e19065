// `bootseq report [--json]`: the last run report as a table (tasks with durations, gates, migrations
// applied with their checksums, shutdown order), or the report itself for machines. Reads only.

import fs from 'node:fs';
import { UsageError } from '../../core/errors.js';
import { newestStamped } from '../../core/stamped-files.js';
import { EXIT_OK } from '../../core/exit.js';
import type { CommandContext, CommandSpec } from './context.js';

export const spec: CommandSpec = {
  name: 'report',
  usage: [
    {
      synopsis: 'report [--json]',
      summary: 'print the last run report',
      details: `Print the last run report from report.dir: every task with its status and duration, the gates, the
migrations applied with their checksums, and the shutdown order. Reads only.`,
    },
  ],
  options: {
    json: { type: 'boolean', help: 'print the report file itself (also with --log-format json)' },
  },
};

interface Report {
  command: string;
  started_at: string;
  status: string;
  exit_code: number | null;
  config_hash: string;
  error?: { message: string; hint?: string };
  tasks: {
    id: string;
    /** The store of a verify or migrate task (its gates, its migrations). */
    target: string;
    status: string;
    duration_ms: number | null;
    exit_code: number | null;
    gates?: { gate: string; ok: boolean; detail: string }[];
    migrations?: { version: string | null; script: string; checksum: string | null; duration_ms: number }[];
  }[];
  shutdown: { task: string; exit_code: number | null; signal: string | null }[];
}

export async function run(cmd: CommandContext): Promise<number> {
  const { loadConfig } = await import('../../config/load.js');
  const config = loadConfig(cmd.configPath);
  let file: string | undefined;
  try {
    file = newestStamped(config.report.dir, 'json');
  } catch {
    // report.dir unreadable (a file, no permission): no report to show, the same answer as a missing dir
  }
  if (!file)
    throw new UsageError(
      `no run report in ${config.report.dir} yet`,
      'run `bootseq up` (or migrate/verify) first: every run writes one',
    );
  const text = fs.readFileSync(file, 'utf8');
  if (cmd.json || cmd.logFormat === 'json') {
    cmd.print(text.trimEnd());
    return EXIT_OK;
  }
  const report = JSON.parse(text) as Report;
  const lines = [
    `${file}`,
    `bootseq ${report.command}, started ${report.started_at}: ${report.status}, exit ${report.exit_code ?? '(still running)'} (config ${report.config_hash})`,
  ];
  if (report.error) lines.push(`error: ${report.error.message.split('\n')[0]}`);
  const width = Math.max(...report.tasks.map((t) => t.id.length), 4);
  lines.push('', `${'task'.padEnd(width)}  status     duration  exit`);
  for (const t of report.tasks) {
    lines.push(
      `${t.id.padEnd(width)}  ${t.status.padEnd(9)}  ${t.duration_ms === null ? '-'.padStart(8) : `${t.duration_ms} ms`.padStart(8)}  ${t.exit_code ?? '-'}`,
    );
  }
  const gates = report.tasks.flatMap((t) => (t.gates ?? []).map((g) => ({ ...g, store: t.target })));
  if (gates.length > 0) {
    lines.push('', 'gates:');
    for (const g of gates)
      lines.push(`  ${g.store.padEnd(width)}  ${g.ok ? 'ok  ' : 'FAIL'}  ${g.gate}: ${g.detail}`);
  }
  const migrations = report.tasks.flatMap((t) =>
    (t.migrations ?? []).map((m) => ({ ...m, store: t.target })),
  );
  lines.push('', migrations.length > 0 ? 'migrations applied:' : 'migrations applied: none');
  for (const m of migrations)
    lines.push(`  ${m.store}  ${m.script}  ${m.checksum ?? '(no checksum)'}  ${m.duration_ms} ms`);
  if (report.shutdown.length > 0) {
    lines.push(
      '',
      `shutdown: ${report.shutdown.map((s) => `${s.task} (${s.signal ?? `exit ${s.exit_code}`})`).join(' → ')}`,
    );
  }
  cmd.print(lines.join('\n'));
  return EXIT_OK;
}
