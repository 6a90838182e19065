// A lag that stays true under steady writes and across rolling handoffs (issue 24), with stall bounds
// short enough that a false alarm shows within the test. A soak: it writes for SOAK_SECONDS and hands
// over HANDOFFS times (the measure: 600 s and 20 handoffs), so it runs with the races
// (`npm run test:races`), not in `npm test`.

import { describe, expect } from 'vitest';
import { useLitestream } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { notesWriter, replicaNotes } from '../helpers/notes.js';
import { freePort, processesIn, READY, type Run } from '../helpers/project.js';
import { litestreamsWithOpen } from '../helpers/replicators.js';

const SOAK_SECONDS = Number(process.env['SOAK_SECONDS'] ?? 15);
const HANDOFFS = Number(process.env['HANDOFFS'] ?? 3);
const WAITING = /runs in pid \d+ on .*: this bootseq starts the app now/;
const TOOK_OVER = /litestream has taken over primary, queue, cache, cable: this bootseq replicates now/;
const FALSE_ALARM = /replication stalled|killing it so it is restarted|frozen or hung/;

describe('a lag that is true', () => {
  test(
    `steady writes for ${SOAK_SECONDS} s, then ${HANDOFFS} rolling handoffs under writes: no stall alarm, no Litestream killed, the lag under a second or two`,
    {
      timeout: 60_000 + SOAK_SECONDS * 2000 + HANDOFFS * 20_000,
    },
    async ({ project }) => {
      useLitestream(project, { stall_timeout: '3s', stall_restart: '6s' });
      const notes = notesWriter(project);
      let current = project.start(['up', '--log-format', 'plain']);
      await current.waitForLine(READY);
      const all: Run[] = [current];
      let worstLagMs = 0;
      let writing = true;
      const writer = (async () => {
        while (writing) {
          notes.write(1, 'steady');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const sampleLag = async () => {
        const r = await project.run(['status', '--json']);
        if (r.exitCode === 3) return;
        const status = JSON.parse(r.output) as { stores: { lag_ms: number | null }[] };
        for (const s of status.stores) worstLagMs = Math.max(worstLagMs, s.lag_ms ?? 0);
      };
      const until = Date.now() + SOAK_SECONDS * 1000;
      while (Date.now() < until) {
        await sampleLag();
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      for (let round = 1; round <= HANDOFFS; round += 1) {
        const next = project.start(['up', '--log-format', 'plain'], {
          DEMO_PORT: String(await freePort()),
        });
        all.push(next);
        await next.waitForLine(WAITING, 60_000);
        process.kill(current.pid, 'SIGTERM');
        expect((await current.done).exitCode).toBe(0);
        await next.waitForLine(TOOK_OVER, 30_000);
        current = next;
        // Longer than stall_timeout: a takeover that raises a false alarm does so in this time.
        for (let i = 0; i < 5; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          await sampleLag();
        }
      }
      writing = false;
      await writer;
      notes.close();
      process.kill(current.pid, 'SIGTERM');
      expect((await current.done).exitCode).toBe(0);
      const alarms = all.flatMap((r) => r.lines.filter((l) => FALSE_ALARM.test(l)));
      expect(alarms).toEqual([]);
      expect(worstLagMs).toBeLessThan(2500);
      expect(litestreamsWithOpen(project.dir).size).toBe(0);
      expect(replicaNotes(project)).toBe(notes.written);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );
});
