// Issue 30 item 1 on a real boot: a web that stops answering without exiting (SIGSTOP) is found by its
// liveness check and restarted by its restart policy (new PID, the old group gone), counted in status,
// /metrics and the run report; a check that hangs fails at its timeout, never overlaps the next one,
// and a process without a restart policy ends supervision (exit 1) with everything stopped in order.

import fs from 'node:fs';
import parsePrometheus from 'parse-prometheus-text-format';
import { describe, expect } from 'vitest';
import { fixture, useProcesses } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { isAlive, pidOf, processesIn, readyWith, type TmpProject } from '../helpers/project.js';

interface Liveness {
  check: string;
  state: string;
  consecutive_failures: number;
  failures_total: number;
  restarts_total: number;
  last_failure: { at: string; reason: string } | null;
}
interface Snapshot {
  processes: {
    name: string;
    pid: number | null;
    ready: boolean;
    restarts: number;
    liveness: Liveness | null;
  }[];
  health_url: string | null;
}

async function snapshot(project: TmpProject): Promise<Snapshot> {
  const r = await project.run(['status', '--json']);
  return JSON.parse(r.output) as Snapshot;
}

/** Lines of sleep probes alive now (cmdline `sleep 30`, started by bootseq in the project). */
function sleepProbes(project: TmpProject): number {
  return processesIn(project.dir).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() === 'sleep 30';
    } catch {
      return false;
    }
  }).length;
}

/** Live processes whose process group is `pgid` (field 5 of /proc/PID/stat). */
function groupMembers(pgid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((e) => {
      try {
        const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return fields[0] !== 'Z' && Number(fields[2]) === pgid ? [Number(e)] : [];
      } catch {
        return [];
      }
    });
}

describe('liveness checks', () => {
  test('a web frozen by SIGSTOP fails its http check, is stopped and restarted: new PID, old group gone, counted everywhere', async ({
    project,
  }) => {
    const url = `http://127.0.0.1:${project.port}/`;
    useProcesses(
      project,
      `  web:\n    command: ${fixture('http-status.mjs', String(project.port), '0', '200')}\n    ready: { http: '${url}', timeout: 30s }\n    restart: on-failure\n    backoff: 100ms\n    liveness: { http: '${url}', every: 300ms, timeout: 1s, failures: 2 }\n`,
    );
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(readyWith('web'));
    const first = pidOf(project.report(), 'start:web');
    const healthy = await snapshot(project);
    expect(healthy.processes[0]!.liveness).toMatchObject({
      check: `http ${url} every 300ms (timeout 1s, 2 failures)`,
      state: 'probing',
      failures_total: 0,
      restarts_total: 0,
    });

    expect(boot.lines.join('\n')).toContain(`[web] pid ${first}`);
    process.kill(first, 'SIGSTOP');
    await boot.waitForLine(
      /\[start:web\] warn: web failed its liveness check \(1 of 2 in a row\): http .*no answer within 1s/,
    );
    await boot.waitForLine(
      /\[start:web\] error: web failed its liveness check 2 times in a row \(http .*: no answer within 1s\): stopping it \(SIGTERM to its process group, SIGKILL after 2s\) so that it is restarted/,
    );
    await boot.waitForLine(
      /\[start:web\] warn: web exited with code 0; restarting in 100 ms \(restart 1 of 3\)/,
    );
    await expect
      .poll(
        async () => {
          const p = (await snapshot(project)).processes[0]!;
          return p.pid !== first && p.ready && p.liveness?.state === 'probing';
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    await expect.poll(() => isAlive(first), { timeout: 10_000 }).toBe(false);
    expect(groupMembers(first)).toEqual([]);

    const after = await snapshot(project);
    const web = after.processes[0]!;
    expect(web.restarts).toBe(1);
    expect(web.liveness).toMatchObject({ restarts_total: 1, consecutive_failures: 0 });
    expect(web.liveness!.failures_total).toBeGreaterThanOrEqual(2);
    expect(web.liveness!.last_failure!.reason).toBe('no answer within 1s');
    const plain = await project.run(['status']);
    expect(plain.output).toMatch(
      /^liveness web: ok · http .* · \d+ failed checks, 1 restart for it · last failure/m,
    );
    const metrics = parsePrometheus(await (await fetch(`${after.health_url}/metrics`)).text());
    const failures = metrics.find((m) => m.name === 'bootseq_liveness_failures_total');
    expect(failures?.metrics).toEqual([
      { labels: { process: 'web' }, value: String(web.liveness!.failures_total) },
    ]);
    const restarts = metrics.find((m) => m.name === 'bootseq_liveness_restarts_total');
    expect(restarts?.metrics).toEqual([{ labels: { process: 'web' }, value: '1' }]);

    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-3000)).toBe(0);
    const report = project.report() as { checks?: { liveness: (Liveness & { process: string })[] } };
    expect(report.checks?.liveness).toEqual([
      expect.objectContaining({
        process: 'web',
        restarts_total: 1,
        failures_total: web.liveness!.failures_total,
      }),
    ]);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('an exec check that hangs fails at its timeout, one at a time; without a restart policy supervision ends, exit 1', async ({
    project,
  }) => {
    useProcesses(
      project,
      `  sleeper:\n    command: ${fixture('exit-with.mjs', '0', '600000')}\n    ready: { log: "^ready$" }\n    liveness: { exec: 'sleep 30', every: 200ms, timeout: 700ms, failures: 3 }\n`,
    );
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(readyWith('sleeper'));
    const sleeper = pidOf(project.report(), 'start:sleeper');
    let most = 0;
    const sampling = setInterval(() => {
      most = Math.max(most, sleepProbes(project));
    }, 50);
    const result = await boot.done.finally(() => clearInterval(sampling));
    expect(result.exitCode, result.output.slice(-3000)).toBe(1);
    expect(result.output).toMatch(
      /sleeper failed its liveness check \(2 of 3 in a row\): exec `sleep 30`: no answer within 700ms/,
    );
    expect(result.stderr).toContain(
      'Error: start:sleeper failed: sleeper failed its liveness check 3 times in a row (exec `sleep 30`: no answer within 700ms); it has no restart policy, so it, the other processes and litestream were stopped in order',
    );
    expect(result.stderr).toContain('Try: add `restart: on-failure` to processes.sleeper');
    // Never two checks at once, and at least one was seen running.
    expect(most).toBe(1);
    expect(isAlive(sleeper)).toBe(false);
    const report = project.report() as {
      checks?: { liveness: { failures_total: number }[] };
      shutdown: { task: string }[];
    };
    expect(report.shutdown.map((s) => s.task)).toEqual(['start:sleeper', 'replicate']);
    expect(report.checks?.liveness[0]?.failures_total).toBe(3);
    expect(processesIn(project.dir)).toEqual([]);
  });
});
