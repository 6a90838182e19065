// Issue 16: what a person sees. `bootseq up` on the demo under a real pseudo-terminal (tmux, 160×45):
// after ready the task list is still on screen with each task's summary, the web address is on screen,
// no per-sync Litestream line appears under writes, and Ctrl+C shows the ordered shutdown as a short
// list. In plain and json, 4 s of writes relay no per-sync Litestream line (Litestream syncs every
// second: a relayed per-sync line would show four times; with `log: all` one shows), and a real
// Litestream error (primary's replica an S3 endpoint that refuses connections) is relayed.

import { execFileSync } from 'node:child_process';
import { describe, expect } from 'vitest';
import { useLitestream, useS3Replica } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { closedPort } from '../helpers/ports.js';
import { CLI, processesIn, READY, type TmpProject } from '../helpers/project.js';

const PER_SYNC = /write wal segment|wal segment written|write snapshot|snapshot written/;

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

async function writeFor(project: TmpProject, ms: number): Promise<number> {
  let n = 0;
  for (const end = Date.now() + ms; Date.now() < end; n += 1) {
    const res = await fetch(`http://127.0.0.1:${project.port}/notes`, { method: 'POST', body: `n${n}` });
    expect(res.status).toBe(201);
    await new Promise((r) => setTimeout(r, 100));
  }
  return n;
}

describe('the terminal', () => {
  test('tmux 160×45: the task list stays, the ready line says where, no per-sync line, Ctrl+C lists the stops', async ({
    project,
  }) => {
    const session = `bootseq-${process.pid}-${project.port}`;
    const screen = () => tmux('capture-pane', '-p', '-t', session);
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '160',
      '-y',
      '45',
      '-c',
      project.dir,
      '-e',
      `DEMO_PORT=${project.port}`,
      '-e',
      'NO_COLOR=1',
      `${process.execPath} ${CLI} up; echo "exited $?"; sleep 60`,
    );
    try {
      await expect
        .poll(screen, { timeout: 30_000 })
        .toMatch(/✔ ready in [\d.]+ m?s: worker; web on http:\/\/127\.0\.0\.1:\d+/);
      const ready = screen();
      for (const row of [
        /✔ migrate:primary {2}[\d.]+ m?s · 2 applied \(sqlx\)/,
        /✔ verify:primary {2}[\d.]+ m?s · 7 gates passed/,
        /✔ replicate {2}[\d.]+ m?s · litestream \(pid \d+\) has taken over 4 stores/,
        new RegExp(`✔ start:web {2}[\\d.]+ m?s · ready on http://127\\.0\\.0\\.1:${project.port}`),
      ])
        expect(ready).toMatch(row);
      expect(ready).toContain(`web on http://127.0.0.1:${project.port}`);
      // The summary is not replayed under the list: no gate line, no migration line.
      expect(ready).not.toMatch(/ok {3}quick_check|applied 20260101000001/);
      await writeFor(project, 3000);
      const after = screen();
      expect(after).not.toMatch(PER_SYNC);
      expect(after).toMatch(/✔ lease/);
      tmux('send-keys', '-t', session, 'C-c');
      await expect.poll(screen, { timeout: 30_000 }).toContain('exited 0');
      const stopped = screen();
      expect(stopped).toMatch(/shutting down \(received SIGINT\): start:web → start:worker → replicate/);
      expect(stopped).toMatch(
        /✔ web +stopped in [\d.]+ m?s: exited with code 0\n.*\n? *✔ worker +stopped in/,
      );
      expect(stopped).toMatch(
        /✔ litestream +stopped in [\d.]+ m?s: exited with code 0 · litestream's final sync put every store's last writes in the replica/,
      );
      expect(stopped).toMatch(/bootseq exits with code 0/);
    } finally {
      tmux('kill-session', '-t', session);
    }
    await expect.poll(() => processesIn(project.dir), { timeout: 10_000 }).toEqual([]);
  });

  test.for(['plain', 'json'])(
    '%s: 4 s of writes relay no per-sync Litestream line; a real Litestream error is relayed',
    async (format, { project }) => {
      const boot = project.start(['up', '--log-format', format]);
      await boot.waitForLine(format === 'json' ? /"event":"ready"/ : READY);
      const before = boot.lines.length;
      expect(await writeFor(project, 4000)).toBeGreaterThan(20);
      const during = boot.lines.slice(before);
      expect(during.filter((l) => PER_SYNC.test(l))).toEqual([]);
      // The same lines reached bootseq (read, not shown): the replica kept up.
      const status = JSON.parse((await project.run(['status', '--json'])).output) as {
        stores: { name: string; lag_ms: number }[];
      };
      expect(status.stores.map((s) => s.lag_ms < 3000)).toEqual([true, true, true, true]);
      process.kill(boot.pid, 'SIGTERM');
      expect((await boot.done).exitCode).toBe(0);

      // A real error: primary's replica is an S3 endpoint nothing listens on (docs/litestream.md Q9).
      const closed = await closedPort(project);
      useS3Replica(project, 'primary', `http://127.0.0.1:${closed.port}`);
      const failed = await project.run(['up', '--log-format', format]);
      expect(failed.exitCode).toBe(1);
      const errors = failed.output.split('\n').filter((l) => l.includes('level=ERROR'));
      expect(errors.length).toBeGreaterThan(0);
      if (format === 'json') {
        const event = JSON.parse(errors[0]!) as { event: string; task: string; line: string };
        expect(event).toMatchObject({ event: 'task-output', task: 'replicate' });
        expect(event.line).toMatch(/level=ERROR .*db=.*primary\.sqlite3.*connection refused/);
      } else {
        expect(errors[0]).toMatch(
          /Z \[litestream\] time=\S+ level=ERROR .*primary\.sqlite3.*connection refused/,
        );
      }
      expect(processesIn(project.dir)).toEqual([]);
    },
  );

  test('litestream.log: all relays the per-sync lines too', async ({ project }) => {
    useLitestream(project, { log: 'all' });
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(READY);
    await writeFor(project, 1500);
    await boot.waitForLine(/\[litestream\] .*msg="wal segment written" db=.*primary\.sqlite3/, 10_000);
    process.kill(boot.pid, 'SIGTERM');
    expect((await boot.done).exitCode).toBe(0);
  });
});
