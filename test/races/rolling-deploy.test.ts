// Two containers on one volume, as a rolling deploy has them: two bootseq processes on one set of
// files. At most one Litestream per database at any moment (sampled from /proc every 50 ms), the app
// never stopped for the handoff, and every acknowledged row in the replica afterwards. These races
// depend on timing, so each scenario runs ten times in a row.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { postNotes, replicaNotes } from '../helpers/notes.js';
import { READY, type Run, type TmpProject, freePort, processesIn } from '../helpers/project.js';
import { descendantsOf, watchForTwoReplicators } from '../helpers/replicators.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 10);

type Report = { tasks: { id: string; ended_at_ms: number | null; [k: string]: unknown }[] };

/** The run reports of the boots since .demo was emptied, read before they are shut down. */
function bootReports(project: TmpProject): Report[] {
  const dir = project.path('.demo/runs');
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('Z.json'))
    .map((n) => JSON.parse(fs.readFileSync(`${dir}/${n}`, 'utf8')) as Report);
}

const leaseEnd = (r: Report) => r.tasks.find((t) => t.id === 'lease')?.ended_at_ms ?? 0;
const lastVerified = (r: Report) =>
  Math.max(...r.tasks.filter((t) => t.id.startsWith('verify:')).map((t) => t.ended_at_ms ?? 0));

function bootOn(project: TmpProject, port: number): Run {
  return project.start(['up', '--log-format', 'plain'], { DEMO_PORT: String(port) });
}

interface Status {
  bootseq: { pid: number };
  lease: { role: string; holder: string | null };
  health: { status: string };
}

async function statusOf(project: TmpProject): Promise<Status | undefined> {
  const r = await project.run(['status', '--json']);
  return r.exitCode === 3 ? undefined : (JSON.parse(r.output) as Status);
}

/** What is wrong with B's /readyz and the status socket while B waits for A's replication lease. */
async function healthWhileWaiting(project: TmpProject, a: Run, b: Run): Promise<string[]> {
  const problems: string[] = [];
  const url = /http:\/\/127\.0\.0\.1:\d+/.exec(b.lines.find((l) => l.includes('health on http')) ?? '')?.[0];
  const ready = url ? await fetch(`${url}/readyz`) : undefined;
  if (ready?.status !== 200)
    problems.push(`B's /readyz while waiting: ${ready?.status} ${await ready?.text()}`);
  const status = await statusOf(project);
  if (
    status?.bootseq.pid !== a.pid ||
    status.lease.role !== 'replicating' ||
    status.health.status !== 'healthy'
  )
    problems.push(
      `status while B waits should answer A (pid ${a.pid}), replicating: ${JSON.stringify(status)}`,
    );
  return problems;
}

describe('rolling deploys on a shared volume', () => {
  test(
    `a rolling deploy, ${ROUNDS} times: B serves while A replicates, takes over when A stops, no row lost`,
    { timeout: 600_000 },
    async ({ project }) => {
      const portB = await freePort();
      const watch = watchForTwoReplicators(project.dir);
      let written = 0;
      const problems: string[] = [];
      for (let round = 1; round <= ROUNDS; round += 1) {
        const a = bootOn(project, project.port);
        await a.waitForLine(READY);
        written += await postNotes(project.port, 5, `round ${round} A`);
        const b = bootOn(project, portB);
        await b.waitForLine(
          /litestream for primary, queue, cache, cable runs in pid \d+ on .*: this bootseq starts the app now/,
        );
        await b.waitForLine(READY);
        // B is ready while it waits for the lease (else a proxy waiting for B would never stop A), and
        // `bootseq status` answers A, the one replicating, until A stops.
        if (round === 1) problems.push(...(await healthWhileWaiting(project, a, b)));
        written += await postNotes(project.port, 5, `round ${round} A`);
        written += await postNotes(portB, 5, `round ${round} B`);
        process.kill(a.pid, 'SIGTERM');
        const aDone = await a.done;
        if (aDone.exitCode !== 0)
          problems.push(`round ${round}: A exited ${aDone.exitCode}:\n${aDone.output.slice(-1500)}`);
        await b.waitForLine(
          /litestream has taken over primary, queue, cache, cable: this bootseq replicates now/,
        );
        if (round === 1) {
          await expect
            .poll(async () => (await statusOf(project))?.bootseq.pid, { timeout: 10_000 })
            .toBe(b.pid);
          expect((await statusOf(project))?.lease).toEqual({ role: 'replicating', holder: null });
        }
        written += await postNotes(portB, 5, `round ${round} B after`);
        process.kill(b.pid, 'SIGTERM');
        const bDone = await b.done;
        if (bDone.exitCode !== 0)
          problems.push(`round ${round}: B exited ${bDone.exitCode}:\n${bDone.output.slice(-1500)}`);
        const rows = replicaNotes(project);
        if (rows !== written) problems.push(`round ${round}: the replica has ${rows} of ${written} notes`);
      }
      const { samples, overlaps } = watch.stop();
      expect(problems).toEqual([]);
      expect(samples).toBeGreaterThan(ROUNDS * 10);
      expect(overlaps).toEqual([]);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );

  test(
    `two containers started at once on an empty volume, ${ROUNDS} times: one restores and migrates, the other waits`,
    { timeout: 600_000 },
    async ({ project }) => {
      const portB = await freePort();
      const watch = watchForTwoReplicators(project.dir);
      const problems: string[] = [];
      let overlapped = 0;
      for (let round = 1; round <= ROUNDS; round += 1) {
        fs.rmSync(project.path('.demo'), { recursive: true, force: true });
        const a = bootOn(project, project.port);
        const b = bootOn(project, portB);
        await Promise.all([a.waitForLine(READY), b.waitForLine(READY)]);
        await postNotes(project.port, 3, `round ${round} A`);
        await postNotes(portB, 3, `round ${round} B`);
        const lines = [...a.lines, ...b.lines];
        const runs = lines
          .map((l) => /\[migrate:primary\] (\d+) applied, (\d+) in/.exec(l))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => ({ applied: Number(m[1]), files: Number(m[2]) }));
        const total = runs.reduce((n, r) => n + r.applied, 0);
        if (runs.length !== 2 || total !== runs[0]?.files || !runs.some((r) => r.applied === 0))
          problems.push(
            `round ${round}: primary's migrations ran ${JSON.stringify(runs)} (expected each once in all)`,
          );
        // Whoever took the boot lease second took it only once the first one's files were verified; if
        // it had to wait for that, it said so and for whom.
        const [first, second] = bootReports(project).sort((x, y) => leaseEnd(x) - leaseEnd(y));
        if (!first || !second) problems.push(`round ${round}: expected two run reports`);
        else {
          if (leaseEnd(second) < lastVerified(first))
            problems.push(
              `round ${round}: the second boot lease was taken before the first boot had verified`,
            );
          const waitedFor = second.tasks.find((t) => t.id === 'lease')?.['waited_for'];
          const said = lines.some((l) =>
            /waiting for pid \d+ on .*, which is restoring or migrating/.test(l),
          );
          if (waitedFor !== undefined && !said)
            problems.push(
              `round ${round}: it waited (for ${JSON.stringify(waitedFor)}) but did not say for whom:\n${lines.filter((l) => l.includes('[lease]')).join('\n')}`,
            );
          if (waitedFor !== undefined) overlapped += 1;
        }
        const replicating = lines.filter((l) =>
          /litestream has taken over primary, queue, cache, cable \(/.test(l),
        );
        if (replicating.length !== 1)
          problems.push(`round ${round}: ${replicating.length} took over at boot (expected 1)`);
        for (const run of [b, a]) process.kill(run.pid, 'SIGTERM');
        const results = await Promise.all([a.done, b.done]);
        for (const r of results)
          if (r.exitCode !== 0)
            problems.push(`round ${round}: exit ${r.exitCode}:\n${r.output.slice(-1500)}`);
      }
      const { overlaps } = watch.stop();
      expect(problems).toEqual([]);
      expect(overlaps).toEqual([]);
      // Started together, most rounds really overlap: the waiting path is exercised, not only the easy one.
      expect(overlapped).toBeGreaterThanOrEqual(ROUNDS / 2);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );

  test(
    `the holder killed outright, ${ROUNDS} times: the other takes over within 2 s, later rows reach the replica`,
    { timeout: 600_000 },
    async ({ project }) => {
      const portB = await freePort();
      const watch = watchForTwoReplicators(project.dir);
      const problems: string[] = [];
      for (let round = 1; round <= ROUNDS; round += 1) {
        fs.rmSync(project.path('.demo'), { recursive: true, force: true });
        const a = bootOn(project, project.port);
        await a.waitForLine(READY);
        const b = bootOn(project, portB);
        await b.waitForLine(READY);
        const killedAt = Date.now();
        for (const pid of [a.pid, ...descendantsOf(a.pid)]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone already: bootseq's watchdog kills its children as soon as bootseq dies
          }
        }
        await a.done;
        const freed = await b.waitForLine(/the replication lease is free after/);
        const tookMs = Date.parse(freed.slice(0, 24)) - killedAt;
        if (tookMs > 2000) problems.push(`round ${round}: took ${tookMs} ms to take the lease`);
        const written = await postNotes(portB, 10, `round ${round} B`);
        await b.waitForLine(
          /litestream has taken over primary, queue, cache, cable: this bootseq replicates now/,
        );
        process.kill(b.pid, 'SIGTERM');
        const bDone = await b.done;
        if (bDone.exitCode !== 0)
          problems.push(`round ${round}: B exited ${bDone.exitCode}:\n${bDone.output.slice(-1500)}`);
        const rows = replicaNotes(project);
        if (rows < written)
          problems.push(`round ${round}: the replica has ${rows} notes, B alone wrote ${written}`);
      }
      const { overlaps } = watch.stop();
      expect(problems).toEqual([]);
      expect(overlaps).toEqual([]);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );
});
