// A clean restart continues the replica's generation (issue 27 item 5; docs/litestream-v05.md H): the
// demo project booted 5 times, notes written while each runs, SIGTERM between boots. Litestream v0.3
// starts a new generation (a full snapshot) whenever it finds the WAL gone, and SQLite deletes the WAL
// when its last connection closes; bootseq's own connections (migrate, seed, verify, the
// `_litestream_seq` bump) must therefore never be the last to close between two Litestreams. Each
// store's file replica holds one generation after the 5 boots, and it restores every note.

import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { READY, processesIn } from '../helpers/project.js';
import { litestreamSeries } from '../helpers/litestream.js';
import { countRows, generationsOf, replicaHasBackup, restoreCopy } from '../helpers/sqlite.js';

const BOOTS = 5;
const NOTES_PER_BOOT = 3;
const STORES = ['primary', 'queue', 'cache', 'cable'];

describe('restarts keep the generation', () => {
  test(`${BOOTS} clean boots with writes between them: one generation per replica`, async ({ project }) => {
    let written = 0;
    for (let boot = 1; boot <= BOOTS; boot += 1) {
      const run = project.start(['up']);
      await run.waitForLine(READY);
      for (let i = 0; i < NOTES_PER_BOOT; i += 1) {
        const response = await fetch(`http://127.0.0.1:${project.port}/notes`, {
          method: 'POST',
          body: `boot ${boot} note ${i}`,
        });
        expect(response.status).toBe(201);
        written += 1;
      }
      process.kill(run.pid, 'SIGTERM');
      const result = await run.done;
      expect(result.exitCode, result.output.slice(-2000)).toBe(0);
    }
    const generations = Object.fromEntries(
      STORES.map((s) => [s, generationsOf(project.path(`.demo/replica/${s}`)).length]),
    );
    if (litestreamSeries() === '0.5') {
      // v0.5 has no generations: one TXID chain that a restart continues (docs/litestream-v05.md H).
      expect(generations).toEqual(Object.fromEntries(STORES.map((s) => [s, 0])));
      for (const s of STORES) expect(replicaHasBackup(project.path(`.demo/replica/${s}`)), s).toBe(true);
    } else expect(generations).toEqual(Object.fromEntries(STORES.map((s) => [s, 1])));
    const out = project.path('restored/primary.sqlite3');
    expect(countRows(restoreCopy(project.dir, '.demo/storage/primary.sqlite3', out), 'notes')).toBe(written);
    expect(processesIn(project.dir)).toEqual([]);
  });
});
