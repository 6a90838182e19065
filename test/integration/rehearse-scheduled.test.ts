// Issue 30 item 3 on a real boot: `rehearse:` runs `bootseq rehearse` in the background while `up`
// supervises: a rehearsal that passes (a new migration applied to the copy only, never to the live
// file), one that fails on a gate the copy does not meet (an error line naming it, /readyz 503 with
// fail_ready, the live files not touched), then passes again; and one interrupted by SIGTERM (stopped
// with bootseq, its folder removed, nothing left running).

import fs from 'node:fs';
import Database from 'better-sqlite3';
import parsePrometheus from 'parse-prometheus-text-format';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { freePort, isAlive, READY, type TmpProject, processesIn } from '../helpers/project.js';

interface Rehearsal {
  state: string;
  last_success: string | null;
  last_failure: { at: string; reason: string } | null;
  runs_total: number;
  failures_total: number;
  fails_ready: boolean;
  last_report: string | null;
}

async function rehearsalOf(project: TmpProject): Promise<Rehearsal> {
  const r = await project.run(['status', '--json']);
  return (JSON.parse(r.output) as { rehearsal: Rehearsal }).rehearsal;
}

function columnsOf(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('PRAGMA table_info(notes)').all() as { name: string }[]).map((c) => c.name);
  } finally {
    db.close();
  }
}

/** A process's state letter from /proc (T: stopped, Z: exited, not reaped), or `gone`. */
function stateOf(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return 'gone';
  }
}

/** What is in rehearse.into: kept reports only once no rehearsal runs (each copy's folder is removed). */
const leftIn = (project: TmpProject) =>
  fs.existsSync(project.path('rehearsals')) ? fs.readdirSync(project.path('rehearsals')) : [];

describe('scheduled restore rehearsals', () => {
  test('pass, fail on a gate the copy does not meet (readyz 503 with fail_ready), pass again, then interrupted by SIGTERM', async ({
    project,
  }) => {
    const original = fs.readFileSync(project.path('bootseq.yml'), 'utf8');
    project.write({
      'bootseq.yml': `${original}rehearse: { every: 1s, into: rehearsals, keep: 3, fail_ready: true }\n`,
    });
    const boot = project.start(['up', '--log-format', 'plain']);
    const base = /http:\/\/127\.0\.0\.1:\d+/.exec(
      await boot.waitForLine(/health on http:\/\/127\.0\.0\.1:\d+/),
    )![0];
    await boot.waitForLine(READY);
    for (let i = 0; i < 3; i += 1)
      expect(
        (await fetch(`http://127.0.0.1:${project.port}/notes`, { method: 'POST', body: `n${i}` })).status,
      ).toBe(201);
    // A migration the live database has not had: the rehearsal applies it to its copy only.
    project.write({
      'examples/demo/db/primary/20260102000001_add_title.sql': 'ALTER TABLE notes ADD COLUMN title TEXT;\n',
    });
    const live = project.path('.demo/storage/primary.sqlite3');

    await boot.waitForLine(/restore rehearsal started \(pid \d+\)/);
    await boot.waitForLine(
      /restore rehearsal passed in [\d.]+ m?s: every store restored from its replica, migrated and verified \(report: .*rehearsals\/.*\.json\)/,
    );
    const passed = await rehearsalOf(project);
    expect(passed.last_success).not.toBeNull();
    expect(passed.failures_total).toBe(0);
    expect(columnsOf(live)).not.toContain('title');
    const metrics = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    const last = metrics.find((m) => m.name === 'bootseq_rehearsal_last_success_timestamp_seconds');
    expect(Number(last?.metrics[0]?.value)).toBeGreaterThan(Date.now() / 1000 - 60);

    // The copy must have a table nobody created: the next rehearsal fails its gate.
    project.write({
      'bootseq.yml': `${original.replace('require: { tables: [jobs] }', 'require: { tables: [jobs, missing_table] }')}rehearse: { every: 1s, into: rehearsals, keep: 3, fail_ready: true }\n`,
    });
    const failed = await boot.waitForLine(/error: restore rehearsal FAILED: .*missing_table/);
    expect(failed).toContain('the live databases and the replica were not touched');
    expect(failed).toContain('/readyz answers 503 until a rehearsal passes (rehearse.fail_ready)');
    await expect.poll(async () => (await fetch(`${base}/readyz`)).status, { timeout: 10_000 }).toBe(503);
    expect(await (await fetch(`${base}/readyz`)).text()).toMatch(/^the last restore rehearsal failed \(/m);
    const failing = await rehearsalOf(project);
    expect(failing).toMatchObject({ failures_total: 1, fails_ready: true });
    expect(failing.last_failure!.reason).toContain('missing_table');
    expect(columnsOf(live)).not.toContain('title');
    // The app kept running through it.
    expect(
      (await fetch(`http://127.0.0.1:${project.port}/notes`, { method: 'POST', body: 'during' })).status,
    ).toBe(201);

    project.write({
      'bootseq.yml': `${original}rehearse: { every: 1s, into: rehearsals, keep: 3, fail_ready: true }\n`,
    });
    await expect.poll(async () => (await fetch(`${base}/readyz`)).status, { timeout: 30_000 }).toBe(200);
    expect((await rehearsalOf(project)).fails_ready).toBe(false);

    // Interrupted: frozen mid-rehearsal (state T while it has not exited) so it cannot finish first,
    // then bootseq gets SIGTERM. A rehearsal that finished before the SIGSTOP landed: take the next one.
    const started = () => boot.lines.filter((l) => /restore rehearsal started/.test(l));
    let pid = 0;
    for (let attempt = 0; attempt < 10 && pid === 0; attempt += 1) {
      const seen = started().length;
      await expect.poll(() => started().length, { timeout: 30_000 }).toBeGreaterThan(seen);
      const candidate = Number(/\(pid (\d+)\)/.exec(started().at(-1)!)![1]);
      try {
        process.kill(candidate, 'SIGSTOP');
      } catch {
        continue;
      }
      await expect.poll(() => stateOf(candidate), { timeout: 5000 }).toMatch(/^[TZ]$|^gone$/);
      if (stateOf(candidate) === 'T') pid = candidate;
    }
    expect(pid).toBeGreaterThan(0);
    // At low priority: nice 19 (field 19 of /proc/PID/stat).
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    expect(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]).toBe('19');
    process.kill(boot.pid, 'SIGTERM');
    const result = await boot.done;
    expect(result.exitCode, result.output.slice(-3000)).toBe(0);
    expect(result.output).toMatch(
      /stopping the restore rehearsal in progress \(pid \d+\); its folder is removed/,
    );
    expect(isAlive(pid)).toBe(false);
    expect(leftIn(project).every((n) => n.endsWith('.json'))).toBe(true);
    expect(leftIn(project).length).toBeLessThanOrEqual(3);
    expect(columnsOf(live)).not.toContain('title');
    const report = project.report() as { checks?: { rehearsal: Rehearsal } };
    expect(report.checks?.rehearsal.failures_total).toBeGreaterThanOrEqual(1);
    expect(processesIn(project.dir)).toEqual([]);
  });

  test('put off while another bootseq holds the replication lease (a rolling deploy), run once this one takes over', async ({
    project,
  }) => {
    const original = fs.readFileSync(project.path('bootseq.yml'), 'utf8');
    project.write({ 'bootseq.yml': `${original}rehearse: { every: 1s, into: rehearsals }\n` });
    const a = project.start(['up', '--log-format', 'plain'], { DEMO_PORT: String(project.port) });
    await a.waitForLine(READY);
    const b = project.start(['up', '--log-format', 'plain'], { DEMO_PORT: String(await freePort()) });
    await b.waitForLine(/this bootseq starts the app now/);
    await b.waitForLine(READY);
    await b.waitForLine(
      /restore rehearsal put off: another bootseq holds the replication lease \(.*\); trying again every 1\.0 s/,
    );
    expect(b.lines.filter((l) => /restore rehearsal started/.test(l))).toEqual([]);

    process.kill(a.pid, 'SIGTERM');
    expect((await a.done).exitCode).toBe(0);
    await b.waitForLine(/this bootseq replicates now/);
    await b.waitForLine(/restore rehearsal passed in/);
    process.kill(b.pid, 'SIGTERM');
    const result = await b.done;
    expect(result.exitCode, result.output.slice(-3000)).toBe(0);
    expect(leftIn(project).every((n) => n.endsWith('.json'))).toBe(true);
    expect(processesIn(project.dir)).toEqual([]);
  });
});
