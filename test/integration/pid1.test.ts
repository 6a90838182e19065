// bootseq as a container's main process, in a PID namespace of its own (no Docker needed):
// `unshare --pid --fork --mount-proc tini -- bootseq up`. SIGTERM to the namespace's PID 1 gives the
// ordered shutdown, and tini reaps orphaned grandchildren. Without tini bootseq is PID 1 itself: it
// warns once, and an orphan that exits stays a zombie (what the warning is about).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { useProcesses } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { childrenOf, processesIn, readyWith, zombiesOf } from '../helpers/project.js';
import { descendantsOf } from '../helpers/replicators.js';

const NAMESPACE = ['unshare', '--pid', '--fork', '--mount-proc'];

function requireTool(name: string, install: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
  if (!found) throw new Error(`${name} is missing: ${install}`);
}

/** A process that leaves an orphan behind: a subshell starts `sleep`, exits, and the sleep is reparented to PID 1. */
const ORPHANING = `  web:\n    command: "(sleep 0.3 &); exec node examples/demo/web.mjs"\n    env: { PORT: "PORT_HERE" }\n    ready: { http: "http://127.0.0.1:PORT_HERE/up" }\n`;

/** The orphaned `sleep` processes under `pid`, running or exited and not yet reaped (zombies). */
function orphanedSleeps(pid: number): number[] {
  return descendantsOf(pid).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'sleep';
    } catch {
      return false; // gone
    }
  });
}

describe('as PID 1 in a PID namespace', () => {
  test('under tini: SIGTERM to PID 1 shuts down in order and orphans are reaped', async ({ project }) => {
    requireTool('tini', 'apt-get install -y tini');
    requireTool('unshare', 'apt-get install -y util-linux');
    useProcesses(project, ORPHANING.replaceAll('PORT_HERE', String(project.port)));
    const boot = project.start(['up'], {}, [...NAMESPACE, 'tini', '--']);
    await boot.waitForLine(readyWith('web'));
    const [tini] = childrenOf(boot.pid);
    expect(tini).toBeGreaterThan(0);
    expect(boot.lines.join('\n')).not.toContain('bootseq is PID 1');
    // Gone altogether, not only exited: a zombie tini never reaped would keep this list non-empty.
    await expect.poll(() => orphanedSleeps(tini!), { timeout: 10_000 }).toEqual([]);
    expect(zombiesOf(tini!)).toEqual([]);

    process.kill(tini!, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('received SIGTERM');
    expect(project.report().shutdown.map((s) => s.task)).toEqual(['start:web', 'replicate']);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('bootseq as PID 1 without a reaper warns once, and the orphan stays a zombie', async ({ project }) => {
    requireTool('unshare', 'apt-get install -y util-linux');
    useProcesses(project, ORPHANING.replaceAll('PORT_HERE', String(project.port)));
    const boot = project.start(['up'], {}, NAMESPACE);
    await boot.waitForLine(readyWith('web'));
    const [bootseq] = childrenOf(boot.pid);
    expect(bootseq).toBeGreaterThan(0);
    const warnings = boot.lines.filter((l) => l.includes('bootseq is PID 1 without an init'));
    expect(warnings).toHaveLength(1);
    expect(boot.lines.join('\n')).toContain(
      'Try: run it under an init that reaps them: ENTRYPOINT ["tini", "--", "bootseq", "up"]',
    );
    // The orphan's 0.3 s are up: it exits, and with no reaper stays a zombie of PID 1.
    await expect.poll(() => zombiesOf(bootseq!).length, { timeout: 10_000 }).toBeGreaterThan(0);

    process.kill(bootseq!, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode).toBe(0);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('as PID 1, a command that starts children without supervising them warns too (up --until replicate)', async ({
    project,
  }) => {
    requireTool('unshare', 'apt-get install -y util-linux');
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const boot = project.start(['up', '--until', 'replicate', '--log-format', 'plain'], {}, NAMESPACE);
      void boot.done.then((done) => resolve({ code: done.exitCode, output: done.output }));
    });
    expect(result.code, result.output.slice(-2000)).toBe(0);
    expect(result.output.match(/bootseq is PID 1 without an init/g)).toHaveLength(1);
    expect(processesIn(project.dir)).toEqual([]);
  });
});
