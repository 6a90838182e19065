// A supervised process's exit is its own exit, noticed at once even when what it started keeps its
// pipes open; and restarts count only within restart_window, so crashes far apart never add up.

import { describe, expect } from 'vitest';
import { fixture, useProcesses } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { pidOf, processesIn, readyWith } from '../helpers/project.js';

describe('process exits', () => {
  test('a wrapper shell SIGKILLed while its child holds the pipe: noticed at once, exit 137, nothing left', async ({
    project,
  }) => {
    useProcesses(
      project,
      `  wrapper:\n    command: "sleep 300 & echo ready; wait"\n    ready: { log: "^ready$" }\n`,
      '{ grace: 2s, replication_grace: 5s }',
    );
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(readyWith('wrapper'));
    const shell = pidOf(project.report(), 'start:wrapper');
    const killedAt = Date.now();
    process.kill(shell, 'SIGKILL');
    const line = await boot.waitForLine(/shutting down \(start:wrapper ended\)/, 10_000);
    expect(Date.parse(line.slice(0, 24)) - killedAt).toBeLessThan(1000);
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-2000)).toBe(137);
    expect(result.stderr).toContain('Error: process wrapper was killed by SIGKILL');
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('crashes spaced wider than restart_window never reach max_restarts', async ({ project }) => {
    useProcesses(
      project,
      `  flaky:\n    command: ${fixture('exit-with.mjs', '1', '600')}\n    ready: { log: "^ready$" }\n    restart: on-failure\n    max_restarts: 1\n    restart_window: 300ms\n    backoff: 100ms\n`,
    );
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(readyWith('flaky'));
    const restarts = () =>
      boot.lines.filter((l) => /flaky exited with code 1; restarting in 100 ms \(restart 1 of 1\)/.test(l));
    await expect.poll(() => restarts().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    expect(boot.lines.join('\n')).not.toContain('gave up');
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-2000)).toBe(0);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('the same crashes within the window: the second one is the last straw', async ({ project }) => {
    useProcesses(
      project,
      `  flaky:\n    command: ${fixture('exit-with.mjs', '1', '600')}\n    ready: { log: "^ready$" }\n    restart: on-failure\n    max_restarts: 1\n    restart_window: 1m\n    backoff: 100ms\n`,
    );
    const result = await project.run(['up', '--log-format', 'plain']);
    expect(result.exitCode, result.output.slice(-2000)).toBe(1);
    expect(result.output).toContain('gave up after 1 restart within 1m');
    expect(processesIn(project.dir)).toEqual([]);
  });
});
