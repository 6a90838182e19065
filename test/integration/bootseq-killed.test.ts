// bootseq itself SIGKILLed outside a container (no PID namespace dies with it, no tini reaps):
// what it started must not keep serving, or replicating, unsupervised. The watchdog
// (core/watchdog.ts) kills every process group bootseq started once bootseq is gone.

import { describe, expect } from 'vitest';
import { fixture, useProcesses } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { READY, isAlive, pidOf, processesIn, readyWith } from '../helpers/project.js';

describe('bootseq killed outright', () => {
  test("bootseq's process group SIGKILLed: web, worker and litestream die with it within seconds", async ({
    project,
  }) => {
    // setsid: bootseq leads a process group of its own, which is killed whole, as in the issue.
    const boot = project.start(['up'], {}, ['setsid']);
    await boot.waitForLine(READY);
    const report = project.report();
    const pids = ['start:web', 'start:worker', 'replicate'].map((id) => pidOf(report, id));
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    process.kill(-boot.pid, 'SIGKILL');
    await boot.done;
    await expect.poll(() => pids.filter((pid) => isAlive(pid)), { timeout: 5000, interval: 100 }).toEqual([]);
    await expect.poll(() => processesIn(project.dir), { timeout: 5000, interval: 100 }).toEqual([]);
  });

  test("bootseq's own pid SIGKILLed: forked workers in a process's group go too", async ({ project }) => {
    useProcesses(
      project,
      `  puma:\n    command: ${fixture('fork-workers.mjs')}\n    ready: { log: "^ready$" }\n`,
    );
    const boot = project.start(['up']);
    const line = await boot.waitForLine(/master \d+ workers \d+ \d+/);
    await boot.waitForLine(readyWith('puma'));
    const pids = (line.match(/\d+ workers \d+ \d+/)?.[0] ?? '').split(/\D+/).filter(Boolean).map(Number);
    pids.push(pidOf(project.report(), 'replicate'));
    expect(pids).toHaveLength(4);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    process.kill(boot.pid, 'SIGKILL');
    await boot.done;
    await expect.poll(() => pids.filter((pid) => isAlive(pid)), { timeout: 5000, interval: 100 }).toEqual([]);
    await expect.poll(() => processesIn(project.dir), { timeout: 5000, interval: 100 }).toEqual([]);
  });
});
