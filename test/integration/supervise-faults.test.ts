// Supervision with real processes and real signals: exits, kills from outside, stubborn processes,
// forked workers, readiness failures, restarts. After every case no process bootseq started is left.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { fixture, useLitestream, useMigrate, useProcesses } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { READY, type TmpProject, isAlive, pidOf, processesIn, readyWith } from '../helpers/project.js';
import { countRows, restoreCopy } from '../helpers/sqlite.js';

describe('supervision', () => {
  test('SIGKILL of the worker from outside → web and litestream stopped in order, exit 137', async ({
    project,
  }) => {
    const boot = project.start(['up']);
    await boot.waitForLine(READY);
    const report = project.report();
    const worker = pidOf(report, 'start:worker');
    const web = pidOf(report, 'start:web');
    const litestream = pidOf(report, 'replicate');
    process.kill(worker, 'SIGKILL');
    const result = await boot.done;
    expect(result.exitCode).toBe(137);
    expect(result.stderr).toContain(
      'Error: process worker was killed by SIGKILL from outside bootseq (the OOM killer or an operator)',
    );
    const final = project.report();
    const stops = final.shutdown.map((s) => s.task);
    expect(stops.indexOf('start:web')).toBeLessThan(stops.indexOf('replicate'));
    expect(stops.at(-1)).toBe('replicate');
    for (const pid of [worker, web, litestream]) expect(isAlive(pid)).toBe(false);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('a process ignoring SIGTERM is killed after grace; shutdown is bounded by the graces', async ({
    project,
  }) => {
    useProcesses(
      project,
      `  stubborn:\n    command: ${fixture('ignore-sigterm.mjs')}\n    ready: { log: "^ready$" }\n`,
      '{ grace: 1s, replication_grace: 5s }',
    );
    const boot = project.start(['up']);
    await boot.waitForLine(readyWith('stubborn'));
    const stubborn = pidOf(project.report(), 'start:stubborn');
    const sentAt = Date.now();
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    const tookMs = Date.now() - sentAt;
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('[stubborn] ignoring SIGTERM');
    expect(result.output).toMatch(/\[start:stubborn\] stopped in [\d.]+ m?s: was killed by SIGKILL/);
    expect(result.output).not.toContain('from outside'); // bootseq killed it, after its grace
    expect(tookMs).toBeGreaterThanOrEqual(1000);
    expect(tookMs).toBeLessThan(1000 + 5000 + 3000);
    expect(project.report().shutdown.map((s) => s.task)).toEqual(['start:stubborn', 'replicate']);
    expect(isAlive(stubborn)).toBe(false);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('litestream SIGKILLed from outside during shutdown: the verdict says so, not "had to be killed", exit 1', async ({
    project,
  }) => {
    useProcesses(
      project,
      `  stubborn:\n    command: ${fixture('ignore-sigterm.mjs')}\n    ready: { log: "^ready$" }\n`,
      '{ grace: 3s, replication_grace: 5s }',
    );
    const boot = project.start(['up']);
    await boot.waitForLine(readyWith('stubborn'));
    const litestream = pidOf(project.report(), 'replicate');
    process.kill(boot.pid, 'SIGTERM');
    // The processes stop first: Litestream is still waiting for its turn while stubborn has its grace.
    await boot.waitForLine(/\[stubborn\] ignoring SIGTERM/);
    process.kill(litestream, 'SIGKILL');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    expect(result.stderr).toContain(
      'litestream was killed by SIGKILL from outside bootseq (the OOM killer or an operator) before its final sync finished',
    );
    expect(result.output).not.toContain('had to be killed');
    const stops = project.report().shutdown as { task: string; ended?: string }[];
    expect(stops.find((s) => s.task === 'replicate')?.ended).toBe(
      'was killed by SIGKILL from outside bootseq (the OOM killer or an operator)',
    );
    expect(stops.find((s) => s.task === 'start:stubborn')?.ended).toBe('was killed by SIGKILL');
    expect(isAlive(litestream)).toBe(false);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('a second SIGTERM during shutdown kills what is left at once', async ({ project }) => {
    useProcesses(
      project,
      `  stubborn:\n    command: ${fixture('ignore-sigterm.mjs')}\n    ready: { log: "^ready$" }\n`,
      '{ grace: 60s, replication_grace: 5s }',
    );
    const boot = project.start(['up']);
    await boot.waitForLine(readyWith('stubborn'));
    const stubborn = pidOf(project.report(), 'start:stubborn');
    process.kill(boot.pid, 'SIGTERM');
    const firstAt = Date.now();
    await boot.waitForLine(/\[stubborn\] ignoring SIGTERM/);
    // bootseq's rule, not a hope: a repeat within 1 s of the first counts as the same request.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstAt + 1100 - Date.now())));
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.output).toContain(
      'second SIGTERM during shutdown: killing every remaining process now (SIGKILL)',
    );
    expect(result.exitCode).toBe(143); // killed, not a clean shutdown
    expect(isAlive(stubborn)).toBe(false);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('forked workers that ignore SIGTERM are killed with their group', async ({ project }) => {
    useProcesses(
      project,
      `  puma:\n    command: ${fixture('fork-workers.mjs')}\n    ready: { log: "^ready$" }\n`,
      '{ grace: 1s, replication_grace: 5s }',
    );
    const boot = project.start(['up']);
    const line = await boot.waitForLine(/master \d+ workers \d+ \d+/);
    await boot.waitForLine(readyWith('puma'));
    const pids = (line.match(/\d+ workers \d+ \d+/)?.[0] ?? '').split(/\D+/).filter(Boolean).map(Number);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    process.kill(boot.pid, 'SIGTERM');
    expect((await boot.done).exitCode).toBe(0);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('SIGTERM during a slow migration: the migration gets it, nothing later starts, exit 143', async ({
    project,
  }) => {
    const marker = project.path('migration-got-sigterm');
    useMigrate(project, 'cable', fixture('slow-migrate.mjs', marker));
    const boot = project.start(['up']);
    await boot.waitForLine(/\[migrate:cable\] migrating slowly/);
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode).toBe(143);
    expect(fs.readFileSync(marker, 'utf8')).toMatch(/^SIGTERM \d+/);
    expect(result.output).not.toContain('[litestream]');
    const report = project.report();
    const status = (id: string) => report.tasks.find((t) => t.id === id)?.status;
    expect(status('replicate')).toBe('skipped');
    expect(status('start:worker')).toBe('skipped');
    expect(status('start:web')).toBe('skipped');
    expect(report.exit_code).toBe(143);
    expect(processesIn(project.dir)).toEqual([]);
  });

  async function bootWithBackoff(project: TmpProject, backoff: string) {
    useLitestream(project, { backoff });
    const boot = project.start(['up']);
    await boot.waitForLine(READY);
    return { boot, litestream: pidOf(project.report(), 'replicate') };
  }
  const writeNote = async (project: TmpProject, body: string) =>
    expect((await fetch(`http://127.0.0.1:${project.port}/notes`, { method: 'POST', body })).status).toBe(
      201,
    );
  const restoredNotes = (project: TmpProject) =>
    countRows(
      restoreCopy(project.dir, '.demo/storage/primary.sqlite3', project.path('restored/primary.sqlite3')),
      'notes',
    );

  test('litestream killed from outside is restarted and replication continues', async ({ project }) => {
    const { boot, litestream } = await bootWithBackoff(project, '200ms');
    process.kill(litestream, 'SIGKILL');
    await boot.waitForLine(
      /litestream was killed by SIGKILL from outside bootseq \(the OOM killer or an operator\); restarting in 200 ms \(restart 1 of 3\)/,
    );
    await boot.waitForLine(
      /litestream has taken over primary, queue, cache, cable again \d+ ms after the restart/,
    );
    expect(isAlive(boot.pid)).toBe(true);
    await writeNote(project, 'after the restart');
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode).toBe(0);
    expect(restoredNotes(project)).toBe(1);
    expect(isAlive(litestream)).toBe(false);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('SIGTERM while litestream is down: it is started once more so the last writes are shipped', async ({
    project,
  }) => {
    const { boot, litestream } = await bootWithBackoff(project, '5s');
    process.kill(litestream, 'SIGKILL');
    await boot.waitForLine(/litestream was killed by SIGKILL from outside bootseq .*; restarting in 5000 ms/);
    await writeNote(project, 'written while litestream was down');
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-4000)).toBe(0);
    expect(result.output).toMatch(/litestream has taken over primary, queue, cache, cable again/);
    expect(restoredNotes(project)).toBe(1);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('litestream past its restart bound: the app is stopped in order, exit 1', async ({ project }) => {
    useLitestream(project, { max_restarts: '0' });
    const boot = project.start(['up']);
    await boot.waitForLine(READY);
    const report = project.report();
    const web = pidOf(report, 'start:web');
    process.kill(pidOf(report, 'replicate'), 'SIGKILL');
    const result = await boot.done;
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'Error: replicate failed: litestream was killed by SIGKILL from outside bootseq (the OOM killer or an operator) while the app was running; the app was stopped so it never runs without replication',
    );
    expect(project.report().shutdown.map((s) => s.task)).toEqual(['start:web', 'start:worker', 'replicate']);
    expect(isAlive(web)).toBe(false);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('a process exiting 3 on its own → the rest stopped in order, bootseq exits 3', async ({ project }) => {
    useProcesses(
      project,
      `  steady:\n    command: ${fixture('ignore-sigterm.mjs')}\n    ready: { log: "^ready$" }\n  crasher:\n    command: ${fixture('exit-with.mjs', '3', '300')}\n    ready: { log: "^ready$" }\n`,
    );
    const result = await project.run(['up']);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('Error: process crasher exited with code 3');
    expect(project.report().shutdown.map((s) => s.task)).toEqual([
      'start:crasher',
      'start:steady',
      'replicate',
    ]);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('a restart: no process exiting 0 stops everything with exit 0', async ({ project }) => {
    useProcesses(
      project,
      `  oneshot:\n    command: ${fixture('exit-with.mjs', '0', '200')}\n    ready: { log: "^ready$" }\n`,
    );
    const result = await project.run(['up']);
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('[start:oneshot] exited with code 0; stopping the rest in order');
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('restart: on-failure brings a failed process back', async ({ project }) => {
    const marker = project.path('fail-once.log');
    useProcesses(
      project,
      `  flaky:\n    command: ${fixture('fail-once.mjs', marker)}\n    ready: { log: "^ready$" }\n    restart: on-failure\n    backoff: 100ms\n`,
    );
    const boot = project.start(['up']);
    await boot.waitForLine(/flaky exited with code 1; restarting in 100 ms \(restart 1 of 3\)/);
    await boot.waitForLine(/\[flaky\] pid \d+ restarted/);
    expect(isAlive(boot.pid)).toBe(true);
    process.kill(boot.pid, 'SIGTERM');
    expect((await boot.done).exitCode).toBe(0);
    expect(fs.readFileSync(marker, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(processesIn(project.dir)).toEqual([]);
  });
});

describe('readiness failures', () => {
  test('never ready within the timeout → exit 1 naming the process and the check', async ({ project }) => {
    useProcesses(
      project,
      `  web:\n    command: ${fixture('ignore-sigterm.mjs')}\n    ready: { tcp: 1, timeout: 1s }\n`,
      '{ grace: 500ms, replication_grace: 5s }',
    );
    const result = await project.run(['up']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'Error: start:web failed: web was not ready within 1s (ready: tcp 1; last check: ECONNREFUSED)',
    );
    expect(result.stderr).toContain('Try: make `node');
    expect(project.report().tasks.find((t) => t.id === 'start:web')?.status).toBe('failed');
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('exits before it is ready → exit 1 naming the process and the check', async ({ project }) => {
    useProcesses(
      project,
      `  worker:\n    command: ${fixture('exit-with.mjs', '4', '50')}\n    ready: { log: "never printed" }\n  web:\n    command: ${fixture('ignore-sigterm.mjs')}\n`,
    );
    const result = await project.run(['up']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'Error: start:worker failed: worker exited with code 4 before it was ready (ready: log /never printed/)',
    );
    expect(project.report().tasks.find((t) => t.id === 'start:web')?.status).toBe('skipped');
    expect(processesIn(project.dir)).toEqual([]);
  });
});
