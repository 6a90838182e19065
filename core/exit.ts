// The exit policy: every exit code bootseq can end with, and every sentence that says how a child
// or bootseq itself ended. Nothing else composes "exited with code N" or computes 128+signal.
// Imports nothing of bootseq but types, so errors.ts, the runner, the supervisor and the phases can
// all use it without a cycle.
//
//   0        success, or a clean shutdown after SIGTERM/SIGINT
//   1        a phase failed (restore, migrate, seed, verify, replication, readiness), or Litestream
//            could not be kept running while the app ran, or shutdown could not confirm that its
//            final sync put every store's last writes in the replica (the run report says which)
//   2        bad usage or config; nothing was touched
//   N        a supervised process exited on its own with N≠0 (128+signal if it was killed)
//   128+n    signal n interrupted the boot, or ended supervision (SIGHUP, SIGQUIT), or a second
//            SIGTERM/SIGINT forced a SIGKILL of everything
// When several apply: the run's own failure (1, N) wins, then a forced kill (128+n), then an
// unconfirmed final sync (1).

import type { ChildExit } from './task.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** `bootseq status`: no bootseq is running there (1 means it runs, degraded). */
export const EXIT_NOT_RUNNING = 3;
/** A child that could not be started at all (ENOENT, EACCES): what a shell answers for a missing command. */
export const EXIT_CANNOT_START = 127;

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};

function signalNumber(signal: string): number {
  return SIGNAL_NUMBERS[signal] ?? 0;
}

/** 128 + the signal's number: how a shell reports a process killed by it. */
export function signalExitCode(signal: string): number {
  return 128 + signalNumber(signal);
}

/** A child's exit as one number: its code, or 128+signal when it was killed. */
export function exitCodeOf(exit: ChildExit): number {
  if (exit.signal) return signalExitCode(exit.signal);
  return exit.exitCode ?? EXIT_FAILED;
}

/** A SIGKILL bootseq did not send: the kernel's OOM killer, or someone's `kill -9`. */
const KILLED_FROM_OUTSIDE = 'was killed by SIGKILL from outside bootseq (the OOM killer or an operator)';

/**
 * `exited with code 3` / `was killed by SIGKILL` / `was killed by SIGKILL from outside bootseq (…)`:
 * how every message says a child ended. A signal bootseq did not send is said to come from outside,
 * so nobody looks for the cause in bootseq's own stop; a child bootseq had to resume first says so.
 */
export function describeExit(exit: ChildExit): string {
  const outside = exit.killedByBootseq === false;
  const how = !exit.signal
    ? `exited with code ${exit.exitCode}`
    : outside && exit.signal === 'SIGKILL'
      ? KILLED_FROM_OUTSIDE
      : `was killed by ${exit.signal}${outside ? ' from outside bootseq' : ''}`;
  return exit.resumed
    ? `${how} (it was frozen by SIGSTOP: bootseq sent SIGCONT after the stop signal so it could act on it)`
    : how;
}

/**
 * How a child that died of SIGKILL came to: `had to be killed` when bootseq sent it (a stop past
 * its grace, a stalled Litestream), else killed from outside. Undefined when it was not SIGKILLed.
 */
export function describeKill(exit: ChildExit): string | undefined {
  if (exit.signal !== 'SIGKILL') return undefined;
  return exit.killedByBootseq === false ? KILLED_FROM_OUTSIDE : 'had to be killed';
}

/** SIGTERM and SIGINT ask for a clean shutdown (exit 0); any other signal is reported as 128+n. */
export function exitCodeAfterSignal(signal: string): number {
  return signal === 'SIGTERM' || signal === 'SIGINT' ? EXIT_OK : signalExitCode(signal);
}

/**
 * The exit code once supervision ended because a kept child exited on its own: a process passes its
 * own code on (0 included: a `restart: no` process that finishes ends the run cleanly); Litestream
 * exiting past its restarts is a failure of bootseq's promise, exit 1.
 */
export function exitCodeAfterChildExit(role: 'replication' | 'process', exit: ChildExit): number {
  return role === 'process' ? exitCodeOf(exit) : EXIT_FAILED;
}

/** A run that was otherwise clean but had to SIGKILL everything is not a clean shutdown. */
export function exitCodeWhenForced(exitCode: number, forcedBy: string | undefined): number {
  return forcedBy !== undefined && exitCode === EXIT_OK ? signalExitCode(forcedBy) : exitCode;
}

/** The last line of every run. */
export function describeBootseqExit(exitCode: number): string {
  return `bootseq exits with code ${exitCode}`;
}
