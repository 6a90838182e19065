// The run report: `<report.dir>/<UTC timestamp>.json`, the evidence an operator attaches to a
// runbook. snake_case on disk. Written atomically (temp file + rename); old reports beyond
// `report.keep` are pruned. Never throws: a report that cannot be written is a warning, not a boot failure.

import fs from 'node:fs/promises';
import path from 'node:path';
import type { TaskRecord } from './runner.js';
import type { StopRecord } from './supervisor.js';

export interface RunReport {
  readonly version: 1;
  readonly command: string;
  readonly argv: readonly string[];
  readonly config_file: string;
  readonly config_hash: string;
  readonly bootseq_version: string;
  readonly node_version: string;
  readonly started_at: string;
  readonly started_at_ms: number;
  ended_at_ms: number | undefined;
  status: 'running' | 'ok' | 'failed';
  exit_code: number | undefined;
  error: { code: string; message: string; hint: string | undefined } | undefined;
  tasks: unknown[];
  shutdown: unknown[];
}

function reportFileName(startedAtMs: number): string {
  return `${new Date(startedAtMs).toISOString().replace(/:/g, '-')}.json`;
}

export function toReportTasks(records: readonly TaskRecord[]): unknown[] {
  return records.map((r) => ({
    id: r.id,
    phase: r.phase,
    target: r.target,
    status: r.status,
    started_at_ms: r.startedAtMs ?? null,
    ended_at_ms: r.endedAtMs ?? null,
    duration_ms:
      r.startedAtMs !== undefined && r.endedAtMs !== undefined ? r.endedAtMs - r.startedAtMs : null,
    exit_code: r.exitCode ?? null,
    ...(r.error ? { error: r.error } : {}),
    ...(r.outputTail ? { output_tail: r.outputTail } : {}),
    ...snakeKeys(r.facts),
  }));
}

export function toReportStops(stops: readonly StopRecord[]): unknown[] {
  return stops.map((s) => ({
    task: s.task,
    role: s.role,
    pid: s.pid,
    stopping_at_ms: s.stoppingAtMs,
    stopped_at_ms: s.stoppedAtMs,
    exit_code: s.exitCode ?? null,
    signal: s.signal ?? null,
  }));
}

function snakeKeys(facts: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(facts).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
  );
}

/** Writes the report; returns its path, or an error message. */
export async function writeReport(
  dir: string,
  report: RunReport,
  keep: number,
): Promise<{ path?: string; problem?: string }> {
  const file = path.join(dir, reportFileName(report.started_at_ms));
  try {
    await fs.mkdir(dir, { recursive: true });
    const temp = `${file}.tmp-${process.pid}`;
    await fs.writeFile(temp, `${JSON.stringify(report, null, 2)}\n`);
    await fs.rename(temp, file);
    await prune(dir, keep);
    return { path: file };
  } catch (error) {
    return { problem: `cannot write the run report to ${dir}: ${(error as Error).message}` };
  }
}

async function prune(dir: string, keep: number): Promise<void> {
  const names = (await fs.readdir(dir)).filter((n) => /^\d{4}-.*Z\.json$/.test(n)).sort();
  for (const name of names.slice(0, Math.max(0, names.length - keep)))
    await fs.rm(path.join(dir, name), { force: true });
}
