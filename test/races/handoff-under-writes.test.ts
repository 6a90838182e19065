// A rolling deploy under continuous writes to both containers (found by bench/handoff.mjs): a note every
// 5 ms to each bootseq from before B starts until after B has taken over, so that the WAL passes
// SQLite's autocheckpoint (1000 pages) while no Litestream reads it; every acknowledged note must then
// be in a restore that passes integrity_check. Litestream v0.5 lost the gap's frames in every round
// until bootseq's keeper held a read transaction through the handoff (db/litestream/keeper.ts,
// docs/litestream-v05.md K), and one round in ~25 until bootseq stopped asking v0.5 for a sync over its
// control socket at the takeover (L: that sync dropped Litestream's read lock). Runs on both versions
// (races; litestream5), 5 rounds unless ROUNDS says otherwise. And Litestream killed under the same
// writes, 4 times (the restart's backoff is a gap too). More rounds by hand, on v0.5:
//   ROUNDS=40 BOOTSEQ_TEST_LITESTREAM=$(scripts/peers.sh where litestream5) npx vitest run --project races test/races/handoff-under-writes.test.ts

import { describe, expect } from 'vitest';
import { useLitestream } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { replicaBodies } from '../helpers/notes.js';
import { READY, type Run, type TmpProject, freePort, processesIn } from '../helpers/project.js';
import { litestreamsWithOpen } from '../helpers/replicators.js';

const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
/** Litestream kills in one run: the restart's backoff doubles each time (1, 2, 4, 8 s). */
const KILLS = Math.min(ROUNDS, 4);

function bootOn(project: TmpProject, port: number): Run {
  return project.start(['up', '--log-format', 'plain'], { DEMO_PORT: String(port) });
}

/** Posts a note every 5 ms while `active()`, each acknowledged one (201, after its commit) into `acked`. */
async function writeNotes(
  port: number,
  label: string,
  active: () => boolean,
  acked: string[],
): Promise<void> {
  for (let i = 0; active(); i += 1) {
    const response = await fetch(`http://127.0.0.1:${port}/notes`, {
      method: 'POST',
      body: `${label} ${i}`,
    }).catch(() => undefined);
    if (response?.status === 201) acked.push(`${label} ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until bootseq has said `times` times that a restarted Litestream took over again. */
async function takenOverAgain(run: Run, times: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (run.lines.filter((l) => /litestream has taken over .* again/.test(l)).length < times) {
    if (Date.now() > deadline)
      throw new Error(`no ${times}th takeover after a kill:\n${run.lines.slice(-30).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What bootseq says when Litestream goes on in a WAL started over under it (index.ts noteWalStartedOver). */
const STARTED_OVER = 'started over by another connection';

describe('rolling deploys under continuous writes', () => {
  test(
    `a rolling deploy under continuous writes to both containers, ${ROUNDS} times: every acknowledged note in a sound restore`,
    { timeout: 600_000 },
    async ({ project }) => {
      const portB = await freePort();
      const acked: string[] = [];
      const problems: string[] = [];
      const writer = (port: number, label: string, active: () => boolean) =>
        writeNotes(port, label, active, acked);
      for (let round = 1; round <= ROUNDS; round += 1) {
        const a = bootOn(project, project.port);
        await a.waitForLine(READY);
        let toA = true;
        let toB = true;
        const wa = writer(project.port, `round ${round} A`, () => toA);
        const b = bootOn(project, portB);
        await b.waitForLine(READY);
        const wb = writer(portB, `round ${round} B`, () => toB);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        toA = false; // the proxy drains A, then stops it
        await wa;
        process.kill(a.pid, 'SIGTERM');
        const aDone = await a.done;
        if (aDone.exitCode !== 0) problems.push(`round ${round}: A exited ${aDone.exitCode}`);
        await b.waitForLine(/litestream has taken over .*: this bootseq replicates now/);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        toB = false;
        await wb;
        process.kill(b.pid, 'SIGTERM');
        const bDone = await b.done;
        if (bDone.exitCode !== 0) problems.push(`round ${round}: B exited ${bDone.exitCode}`);
        for (const [name, done] of [
          ['A', aDone],
          ['B', bDone],
        ] as const)
          if (done.output.includes(STARTED_OVER))
            problems.push(`round ${round}: ${name} says its WAL started over under litestream`);
        // restoreCopy (through replicaBodies) throws unless the restore passes integrity_check.
        const restored = replicaBodies(project);
        const missing = acked.filter((body) => !restored.has(body));
        if (missing.length > 0)
          problems.push(`round ${round}: ${missing.length} of ${acked.length} acknowledged notes missing`);
      }
      expect(problems).toEqual([]);
      expect(acked.length).toBeGreaterThan(100);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );

  // A Litestream killed outright (the OOM killer) while the app writes: until the restarted one holds
  // its read lock (after the restart's backoff), only bootseq's keeper, opened the moment the old one
  // exits, keeps the app's checkpoints from starting the WAL over under it (docs/litestream-v05.md K).
  test(
    `litestream SIGKILLed under continuous writes, ${KILLS} times in one run: every acknowledged note in a sound restore`,
    { timeout: 600_000 },
    async ({ project }) => {
      useLitestream(project, { max_restarts: KILLS + 1 }); // each kill is a restart within the window
      const acked: string[] = [];
      const boot = bootOn(project, project.port);
      await boot.waitForLine(READY);
      let writing = true;
      const writes = writeNotes(project.port, 'note', () => writing, acked);
      try {
        for (let round = 1; round <= KILLS; round += 1) {
          await new Promise((resolve) => setTimeout(resolve, 1500));
          const [pid] = [...litestreamsWithOpen(project.dir).keys()];
          expect(pid, `round ${round}: no litestream holds the databases`).toBeDefined();
          process.kill(pid!, 'SIGKILL');
          await takenOverAgain(boot, round);
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      } finally {
        writing = false;
        await writes;
      }
      process.kill(boot.pid, 'SIGTERM');
      const done = await boot.done;
      expect(done.exitCode, done.output.slice(-3000)).toBe(0);
      // restoreCopy (through replicaBodies) throws unless the restore passes integrity_check.
      let missing: number | string;
      try {
        const restored = replicaBodies(project);
        missing = acked.filter((body) => !restored.has(body)).length;
      } catch (error) {
        missing = String(error);
      }
      expect({ missing, startedOver: done.output.includes(STARTED_OVER) }).toEqual({
        missing: 0,
        startedOver: false,
      });
      expect(acked.length).toBeGreaterThan(100);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );
});
