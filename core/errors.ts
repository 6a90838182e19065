// Every error bootseq reports on purpose. Owns the exit code each failure maps to and the hint that
// tells the operator what to do next; never prints anything itself (cli.ts does). The codes come from
// exit.ts, the one exit policy.

import { EXIT_FAILED, EXIT_USAGE, signalExitCode } from './exit.js';

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'TASK_FAILED'
  | 'GATE_FAILED'
  | 'NOT_READY'
  | 'REPLICATION_FAILED'
  | 'PROCESS_EXITED'
  | 'SHUTDOWN_INCOMPLETE'
  | 'INTERRUPTED';

export abstract class BootseqError extends Error {
  abstract readonly code: ErrorCode;
  /** 2: config or usage, nothing touched; 1: a phase failed; 128+n: interrupted by signal n. */
  abstract readonly exitCode: number;
  /** The next step: a command line, or one imperative sentence. */
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/**
 * Foreign text (a file name, a config value, a child's line, another program's error) as one printable
 * line: a newline becomes `\n`, every other control character (NUL, ESC that would clear the screen or
 * set the terminal's title, CR, DEL, the C1 range) `\x1b`-style, as the JSON format escapes them; tabs
 * stay. Whatever it quoted, a line bootseq prints can then neither be forged nor drive the terminal.
 */
export function escapeControl(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g,
    (c) => (c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`),
  );
}

/**
 * bootseq's own text that may span lines (an error with its list of problems): control characters
 * escaped as escapeControl does, the newlines kept. What it quotes must have been escaped already.
 */
export function escapeControlKeepingLines(text: string): string {
  return text.split('\n').map(escapeControl).join('\n');
}

/** What was thrown, as text: an Error's message, else the value itself. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first line of a message (a task's error in a one-line place: the log line of its end). */
export function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** How much of a foreign value an error quotes: enough to recognise it, never the whole of a big file. */
export const EXCERPT_CHARS = 200;

/**
 * At most `max` characters of foreign text, escaped (escapeControl), and when it was longer, how long
 * it was: `'abc… (20971520 characters; the first 200 shown)`. Escapes only what it shows.
 */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  if (text.length <= max) return escapeControl(text);
  return `${escapeControl(text.slice(0, max))}… (${text.length} characters; the first ${max} shown)`;
}

/** One problem found in a config file: `file: key.path: message`. */
export interface ConfigIssue {
  readonly file: string;
  readonly path: string;
  readonly message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  // One line each, whatever the file's name or the value quoted: the list is one issue per line.
  return escapeControl(
    issue.path ? `${issue.file}: ${issue.path}: ${issue.message}` : `${issue.file}: ${issue.message}`,
  );
}

export class ConfigError extends BootseqError {
  readonly code = 'CONFIG_INVALID';
  readonly exitCode = EXIT_USAGE;
  readonly issues: readonly ConfigIssue[];
  constructor(file: string, issues: readonly ConfigIssue[], hint?: string) {
    super(
      `${file} is invalid; nothing was started:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
      {
        hint: hint ?? 'fix these keys, then run `bootseq plan` to check the file without touching anything',
      },
    );
    this.issues = issues;
  }
}

export class UsageError extends BootseqError {
  readonly code = 'USAGE';
  readonly exitCode = EXIT_USAGE;
  constructor(message: string, hint = 'run `bootseq --help` for the commands and options') {
    super(message, { hint });
  }
}

/** A task's command failed, or the task itself failed (restore, verify, readiness…). */
export class TaskFailedError extends BootseqError {
  readonly code: ErrorCode = 'TASK_FAILED';
  readonly exitCode = EXIT_FAILED;
  readonly taskId: string;
  readonly command: string | undefined;
  readonly childExitCode: number | undefined;
  readonly outputTail: readonly string[];
  constructor(
    taskId: string,
    message: string,
    options: {
      hint?: string;
      cause?: unknown;
      command?: string;
      childExitCode?: number;
      outputTail?: readonly string[];
    } = {},
  ) {
    const tail = options.outputTail ?? [];
    // A child's lines: escaped and cut, so its bytes neither forge a line of the error nor reach the terminal.
    const shown =
      tail.length > 0 ? `\n  last output:\n${tail.map((l) => `    ${excerpt(l, 500)}`).join('\n')}` : '';
    super(`${taskId} failed: ${message}${shown}`, options);
    this.taskId = taskId;
    this.command = options.command;
    this.childExitCode = options.childExitCode;
    this.outputTail = tail;
  }
}

export interface GateResult {
  readonly store: string;
  readonly gate: string;
  readonly ok: boolean;
  readonly detail: string;
}

export class GateFailedError extends TaskFailedError {
  override readonly code = 'GATE_FAILED';
  readonly gates: readonly GateResult[];
  constructor(taskId: string, gates: readonly GateResult[], hint: string) {
    const failed = gates.filter((g) => !g.ok);
    super(taskId, failed.map((g) => `gate ${g.gate}: ${escapeControl(g.detail)}`).join('; '), { hint });
    this.gates = gates;
  }
}

export class NotReadyError extends TaskFailedError {
  override readonly code = 'NOT_READY';
}

export class ReplicationError extends TaskFailedError {
  override readonly code = 'REPLICATION_FAILED';
}

/** A supervised child ended on its own: bootseq stops the rest and exits with the child's code. */
export class ProcessExitedError extends BootseqError {
  readonly code = 'PROCESS_EXITED';
  readonly exitCode: number;
  readonly taskId: string;
  constructor(taskId: string, exitCode: number, message: string, hint?: string) {
    super(message, hint === undefined ? {} : { hint });
    this.taskId = taskId;
    this.exitCode = exitCode;
  }
}

/** Boot was interrupted by a signal: whatever ran got the signal, nothing later started. */
export class InterruptedError extends BootseqError {
  readonly code = 'INTERRUPTED';
  readonly exitCode: number;
  readonly signal: string;
  constructor(signal: string) {
    super(`interrupted by ${signal}; the running tasks were stopped and nothing later was started`);
    this.signal = signal;
    this.exitCode = signalExitCode(signal);
  }
}

/**
 * Everything stopped, but a child did not finish its work on the way out (Litestream's final sync did
 * not put the last writes in the replica): not a clean shutdown, exit 1.
 */
export class UnfinishedStopError extends BootseqError {
  readonly code = 'SHUTDOWN_INCOMPLETE';
  readonly exitCode = EXIT_FAILED;
  readonly problems: readonly string[];
  constructor(problems: readonly string[], hint: string | undefined) {
    super(problems.map(escapeControl).join('\n'), hint === undefined ? {} : { hint });
    this.problems = problems;
  }
}
