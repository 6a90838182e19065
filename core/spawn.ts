// The only door to execa. Every child leads its own process group (detached), so a signal reaches
// `sh -c` wrappers and forked workers alike; stopping is SIGTERM to the group → grace → SIGKILL to
// the group. Groups stay in a registry until they are empty, so cli.ts can kill what is left on any
// exit, and the watchdog (watchdog.ts) on bootseq's death. Never decides when to stop anything: the
// runner and the supervisor do.

import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT_CANNOT_START } from './exit.js';
import { addGroup, isGroupAlive, isGroupStopped, removeGroup, signalGroup } from './groups.js';
import type { Child, ChildExit, CommandSpec } from './task.js';
import { startWatchdog } from './watchdog.js';
import { readLines } from './lines.js';

type Execa = typeof import('execa');
let execaModule: Execa | undefined;
let loading: Promise<Execa> | undefined;

/**
 * Loads execa (≈100 ms of start-up on a small machine) once. Commands that may start children call
 * it early and await it before the first child, so the load overlaps with config parsing; commands
 * that never start one (plan, checksum, --version) never pay for it.
 */
function loadSpawner(): Promise<void> {
  loading ??= import('execa').then((m) => {
    execaModule = m;
    // Before the first child: no group bootseq starts outlives a bootseq killed outright.
    startWatchdog();
    return m;
  });
  return loading.then(() => undefined);
}

const ERRORISH = /error|fail|fatal|panic|exception|denied|refused|cannot|no such|invalid/i;
const TAIL_LINES = 20;
/** How long an exited child's output may still take to arrive before its exit is reported. */
const DRAIN_MS = 100;
const KEEP_LINES = 200;
/** How often a child being stopped is looked at for a SIGSTOP (state T) that keeps it from acting. */
const FROZEN_LOOK_MS = 200;

export interface StartOptions {
  readonly baseEnv?: Readonly<Record<string, string>>;
  readonly redact?: (text: string) => string;
}

/** How the runner starts children; unit tests pass a fake (the real one is `spawner` below). */
export interface Spawner {
  /** Resolves once `start` can be called. */
  load(): Promise<void>;
  start(spec: CommandSpec, options?: StartOptions): Child;
}

export const spawner: Spawner = { load: loadSpawner, start: (spec, options) => startChild(spec, options) };

function startChild(spec: CommandSpec, options: StartOptions = {}): Child {
  const display =
    spec.display ??
    (typeof spec.command === 'string' ? spec.command : [spec.command.file, ...spec.command.args].join(' '));
  const subprocess = launch(spec, { ...options.baseEnv, ...spec.env });
  const output = createOutput(options.redact ?? ((t: string) => t));
  const readers: Promise<void>[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    const source = subprocess[stream];
    if (!source) continue;
    // Bounded lines (core/lines.ts): any output, of any length, with or without a newline.
    readers.push(readLines(source, (line) => output.push(line, stream)));
  }

  const pid = subprocess.pid;
  let hasExited = false;
  // The signals bootseq sent the group: a death by one of them is bootseq's doing, any other one came
  // from outside (the OOM killer, an operator), and the exit says which (core/exit.ts).
  const sent = new Set<string>();
  const send = (signal: NodeJS.Signals): boolean => {
    if (pid === undefined) return false;
    sent.add(signal);
    return signalGroup(pid, signal);
  };
  const withCause = (exit: ChildExit): ChildExit =>
    exit.signal ? { ...exit, killedByBootseq: sent.has(exit.signal) } : exit;
  const cannotStart = (why: unknown) => {
    hasExited = true;
    output.push(`cannot start \`${display}\`: ${String(why)}`, 'stderr');
    return { exitCode: EXIT_CANNOT_START, signal: undefined };
  };
  // The child's own exit, not the end of its output: descendants (a shell wrapper's background job)
  // may hold the pipes open long after it died. Its last lines get a moment to arrive; later ones are
  // still relayed.
  const exitEvent = new Promise<ChildExit>((resolve) => {
    subprocess.once('exit', (code, signal) => {
      const drained = Promise.all(readers);
      void Promise.race([drained, sleep(DRAIN_MS)]).then(() =>
        resolve(withCause({ exitCode: code ?? undefined, signal: signal ?? undefined })),
      );
    });
  });
  const finished = subprocess.then((result) => {
    // The program could not be started at all (ENOENT, EACCES): there is no exit event.
    if (result.failed && result.exitCode === undefined && result.signal === undefined)
      return cannotStart(result.originalMessage ?? result.shortMessage);
    return withCause({ exitCode: result.exitCode, signal: result.signal });
  }, cannotStart);
  const exited: Promise<ChildExit> = Promise.race([exitEvent, finished]).then((exit) => {
    hasExited = true;
    return exit;
  });
  if (pid !== undefined) {
    addGroup(pid);
    void exited.then(() => {
      if (!isGroupAlive(pid)) removeGroup(pid);
    });
  }

  let stopping: Promise<ChildExit> | undefined;
  return {
    pid: pid ?? -1,
    display,
    exited,
    get hasExited() {
      return hasExited;
    },
    outputTail: output.tail,
    onLine: output.onLine,
    stop(graceMs, signal = 'SIGTERM') {
      stopping ??= stopGroup(pid, exited, () => hasExited, graceMs, signal, send);
      return stopping;
    },
  };
}

function launch(spec: CommandSpec, env: Record<string, string>) {
  if (!execaModule) throw new Error('startChild before loadSpawner() resolved');
  const common = {
    cwd: spec.cwd,
    env,
    extendEnv: true,
    detached: true,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: false,
    windowsHide: true,
  } as const;
  const { execa } = execaModule;
  return typeof spec.command === 'string'
    ? execa(shellLine(spec.command), { ...common, shell: '/bin/sh' })
    : execa(spec.command.file, [...spec.command.args], common);
}

/** A child's output: the last KEEP_LINES lines, and whoever listens to each new one. */
function createOutput(redact: (text: string) => string) {
  const listeners = new Set<(line: string, stream: 'stdout' | 'stderr') => void>();
  const lines: string[] = [];
  return {
    push: (line: string, stream: 'stdout' | 'stderr') => {
      lines.push(line);
      if (lines.length > KEEP_LINES) lines.shift();
      for (const listener of listeners) listener(line, stream);
    },
    /** The last TAIL_LINES lines, error-looking lines preferred. */
    tail: (): string[] => {
      const recent = lines.slice(-TAIL_LINES);
      if (lines.length <= TAIL_LINES) return recent.map(redact);
      const errorish = new Set(lines.filter((l) => ERRORISH.test(l)).slice(-TAIL_LINES / 2));
      const picked = lines.filter(
        (l, i) => errorish.has(l) || i >= lines.length - (TAIL_LINES - errorish.size),
      );
      return picked.slice(-TAIL_LINES).map(redact);
    },
    onLine: (listener: (line: string, stream: 'stdout' | 'stderr') => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * A simple command runs as `exec COMMAND`, so the program replaces the shell: it receives signals
 * itself and its own exit code or signal is what bootseq sees. Anything with shell syntax
 * (pipes, lists, subshells, keywords) runs as written.
 */
export function shellLine(command: string): string {
  const trimmed = command.trim();
  if (/[;&|\n()`{}<>]/.test(trimmed) || /^(exec|if|for|while|until|case|!|\[\[?)(\s|$)/.test(trimmed))
    return command;
  // Leading assignments stay in front: `PORT=3 exec node web.js`.
  const assignments = /^(?:[A-Za-z_][A-Za-z0-9_]*=[^\s'"]*\s+)*/.exec(trimmed)?.[0] ?? '';
  const rest = trimmed.slice(assignments.length);
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(rest) || rest.startsWith('exec ')) return command;
  return `${assignments}exec ${rest}`;
}

async function stopGroup(
  pid: number | undefined,
  exited: Promise<ChildExit>,
  isExited: () => boolean,
  graceMs: number,
  signal: NodeJS.Signals,
  send: (signal: NodeJS.Signals) => boolean,
): Promise<ChildExit> {
  if (pid === undefined) return exited;
  const deadline = Date.now() + graceMs;
  if (!isExited() || isGroupAlive(pid)) send(signal);
  // A frozen child (SIGSTOP: state T) acts on nothing but SIGKILL, so a SIGTERM would only wait out
  // the whole grace. SIGCONT after it lets the child act on it at once (Litestream: its final sync,
  // docs/litestream.md Q4) instead of being killed with its work undone. Looked at again during the
  // grace: a SIGSTOP sent just before (or during) the stop takes a moment to show in /proc.
  let resumed = false;
  const resumeIfFrozen = () => {
    if (signal !== 'SIGKILL' && isGroupStopped(pid) && send('SIGCONT')) resumed = true;
  };
  resumeIfFrozen();
  const looking = setInterval(resumeIfFrozen, FROZEN_LOOK_MS);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  clearInterval(looking);
  if (first === 'timeout') send('SIGKILL');
  const result = await exited;
  // The leader is gone; members of its group (forked workers) get what is left of the grace.
  while (isGroupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (isGroupAlive(pid) && send('SIGKILL')) await new Promise((r) => setTimeout(r, 20));
  removeGroup(pid);
  return resumed ? { ...result, resumed } : result;
}
