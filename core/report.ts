// The run report: `<report.dir>/<UTC timestamp>.json`, the evidence an operator attaches to a
// runbook. snake_case on disk. Written atomically (temp file + rename); old reports beyond
// `report.keep` are pruned. Never throws: a report that cannot be written is a warning, not a boot failure.
// The file name and the pruning are stamped-files.ts's, shared with the backups.

import fs from 'node:fs/promises';
import path from 'node:path';
import type { TaskRecord } from './runner.js';
import type { BootseqError } from './errors.js';
import { EXIT_OK } from './exit.js';
import { pruneStamped, stampedName } from './stamped-files.js';
import type { StopRecord } from './supervisor/index.js';

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
  /** What kept being checked after boot (liveness, heartbeat: entrypoint/status/checks.ts), when configured. */
  checks?: unknown;
}

export interface RunIdentity {
  readonly command: string;
  readonly argv: readonly string[];
  readonly configFile: string;
  readonly configHash: string;
  readonly bootseqVersion: string;
}

/** A report for a run that starts now, status `running` until finishRunReport. */
export function createRunReport(run: RunIdentity, startedAtMs = Date.now()): RunReport {
  return {
    version: 1,
    command: run.command,
    argv: run.argv,
    config_file: run.configFile,
    config_hash: run.configHash,
    bootseq_version: run.bootseqVersion,
    node_version: process.version,
    started_at: new Date(startedAtMs).toISOString(),
    started_at_ms: startedAtMs,
    ended_at_ms: undefined,
    status: 'running',
    exit_code: undefined,
    error: undefined,
    tasks: [],
    shutdown: [],
  };
}

/** Fills in how the run ended; `redact` keeps secrets out of the error message on disk. */
export function finishRunReport(
  report: RunReport,
  end: {
    readonly stops: readonly StopRecord[];
    readonly exitCode: number;
    readonly error: BootseqError | undefined;
    redact(text: string): string;
  },
): void {
  report.shutdown = toReportStops(end.stops);
  report.ended_at_ms = Date.now();
  if (end.error)
    report.error = { code: end.error.code, message: end.redact(end.error.message), hint: end.error.hint };
  report.exit_code = end.exitCode;
  report.status = end.exitCode === EXIT_OK ? 'ok' : 'failed';
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

function toReportStops(stops: readonly StopRecord[]): unknown[] {
  return stops.map((s) => ({
    task: s.task,
    role: s.role,
    pid: s.pid,
    stopping_at_ms: s.stoppingAtMs,
    stopped_at_ms: s.stoppedAtMs,
    exit_code: s.exitCode ?? null,
    signal: s.signal ?? null,
    ended: s.ended,
    ...(s.problem === undefined ? {} : { problem: s.problem }),
  }));
}

function snakeKeys(facts: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(facts).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
  );
}

/** Writes the report; returns its path, or an error message. */
/** The file each run's report went to first: later writes of the same run replace it. */
const claimed = new WeakMap<RunReport, string>();

/**
 * Claims `<stamp>.json` for a run, exclusively: two bootseqs on one volume (a rolling deploy) can
 * start in the same millisecond, and neither report may replace the other. The stamp moves on by a
 * millisecond until a name is free; the report itself keeps the exact start time.
 */
async function claimName(dir: string, report: RunReport): Promise<string> {
  for (let ms = report.started_at_ms; ; ms += 1) {
    const file = path.join(dir, stampedName('json', ms));
    try {
      await (await fs.open(file, 'wx')).close();
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

export async function writeReport(
  dir: string,
  report: RunReport,
  keep: number,
): Promise<{ path?: string; problem?: string }> {
  try {
    await fs.mkdir(dir, { recursive: true });
    const file = claimed.get(report) ?? (await claimName(dir, report));
    claimed.set(report, file);
    const temp = `${file}.tmp-${process.pid}`;
    await fs.writeFile(temp, `${JSON.stringify(report, null, 2)}\n`);
    await fs.rename(temp, file);
    pruneStamped(dir, 'json', keep);
    return { path: file };
  } catch (error) {
    return { problem: `cannot write the run report to ${dir}: ${(error as Error).message}` };
  }
}
