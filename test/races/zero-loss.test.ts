// Ordered shutdown loses no acknowledged write: N notes written through the demo's web process (each
// acknowledged after its commit), SIGTERM to bootseq at once, then a restore of the replica into a new
// path holds every note. 20 rounds in a row on one project, 0 losses allowed.

import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { postNotes, replicaNotes } from '../helpers/notes.js';
import { READY, processesIn } from '../helpers/project.js';

const ROUNDS = 20;
const NOTES_PER_ROUND = 25;

describe('zero loss on SIGTERM', () => {
  test(
    `${ROUNDS} rounds of write-then-SIGTERM lose no acknowledged note`,
    { timeout: 600_000 },
    async ({ project }) => {
      const losses: string[] = [];
      let written = 0;
      for (let round = 1; round <= ROUNDS; round += 1) {
        const boot = project.start(['up']);
        await boot.waitForLine(READY);
        written += await postNotes(project.port, NOTES_PER_ROUND, `round ${round} note`);
        process.kill(boot.pid, 'SIGTERM');
        const result = await boot.done;
        expect(result.exitCode, result.output.slice(-2000)).toBe(0);
        const restored = replicaNotes(project);
        if (restored !== written)
          losses.push(`round ${round}: ${written - restored} of ${written} notes missing`);
      }
      expect(losses).toEqual([]);
      expect(written).toBe(ROUNDS * NOTES_PER_ROUND);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );
});

describe('zero loss when writes continue into the shutdown', () => {
  test(
    '10 rounds: a client keeps writing while SIGTERM arrives; every acknowledged note is in the replica',
    { timeout: 600_000 },
    async ({ project }) => {
      const losses: string[] = [];
      let acknowledged = 0;
      for (let round = 1; round <= 10; round += 1) {
        const boot = project.start(['up']);
        await boot.waitForLine(READY);
        let writing = true;
        const before = acknowledged;
        const writer = (async () => {
          for (let i = 0; writing; i += 1) {
            try {
              const response = await fetch(`http://127.0.0.1:${project.port}/notes`, {
                method: 'POST',
                body: `round ${round} note ${i}`,
              });
              if (response.status === 201) acknowledged += 1;
            } catch {
              // the web process is gone: nothing acknowledged, nothing owed
            }
          }
        })();
        // SIGTERM once the client is writing for sure: a few notes of this round acknowledged.
        await expect
          .poll(() => acknowledged - before, { timeout: 10_000, interval: 5 })
          .toBeGreaterThanOrEqual(5);
        process.kill(boot.pid, 'SIGTERM');
        const result = await boot.done;
        writing = false;
        await writer;
        expect(result.exitCode, result.output.slice(-2000)).toBe(0);
        const restored = replicaNotes(project);
        if (restored < acknowledged)
          losses.push(`round ${round}: ${acknowledged - restored} acknowledged notes missing`);
      }
      expect(losses).toEqual([]);
      expect(acknowledged).toBeGreaterThan(10);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );
});
