// A rolling deploy with the replicas in S3: two bootseq processes on one volume (as two containers of a
// deploy have it), the demo's four replicas in a bucket on the rig's S3 server. At most one Litestream
// per database at any moment (sampled from /proc every 50 ms), and every acknowledged row restorable
// from the bucket after each round. test/races/rolling-deploy.test.ts has the races in full, on
// a file replica; this is the same handoff against a real S3 server.

import { expect } from 'vitest';
import { READY, freePort, processesIn } from '../helpers/project.js';
import { watchForTwoReplicators } from '../helpers/replicators.js';
import { countRows, restoreCopy } from '../helpers/sqlite.js';
import { test } from '../helpers/fixtures.js';

const ROUNDS = 3;
const BEHIND =
  /Error: replicate: replication did not complete at shutdown: litestream's final sync left writes behind; \w+ \(replica s3 behind/;
const STORES = ['primary', 'queue', 'cache', 'cable'];

async function writeNotes(port: number, count: number, label: string): Promise<number> {
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`http://127.0.0.1:${port}/notes`, { method: 'POST', body: `${label} ${i}` });
    expect(response.status, `${label} ${i}`).toBe(201);
  }
  return count;
}

test(
  `a rolling deploy with the replicas in S3, ${ROUNDS} times: one replicator at a time, no row lost`,
  { timeout: 300_000 },
  async ({ project, s3 }) => {
    await s3.createBucket('demo');
    project.write({
      'litestream.yml': `dbs:\n${STORES.map(
        (store) =>
          `  - path: .demo/storage/${store}.sqlite3\n    replicas:\n      - type: s3\n        bucket: demo\n        path: ${store}\n        endpoint: ${s3.endpoint}\n        region: us-east-1\n        force-path-style: true\n        access-key-id: ${s3.accessKey}\n        secret-access-key: ${s3.secretKey}\n`,
      ).join('')}`,
    });
    const portB = await freePort();
    const watch = watchForTwoReplicators(project.dir);
    let written = 0;
    const problems: string[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const a = project.start(['up', '--log-format', 'plain'], { DEMO_PORT: String(project.port) });
      await a.waitForLine(READY, 60_000);
      written += await writeNotes(project.port, 5, `round ${round} A`);
      const b = project.start(['up', '--log-format', 'plain'], { DEMO_PORT: String(portB) });
      await b.waitForLine(
        /litestream for primary, queue, cache, cable runs in pid \d+ on .*: this bootseq starts the app now/,
        60_000,
      );
      await b.waitForLine(READY, 60_000);
      written += await writeNotes(project.port, 5, `round ${round} A`);
      written += await writeNotes(portB, 5, `round ${round} B`);
      process.kill(a.pid, 'SIGTERM');
      const aDone = await a.done;
      // Open finding (docs/peers.md): about one A in ten exits 1 with "final sync left writes behind"
      // when the replica is on S3 — Litestream 0.3.13 logs its in-flight upload cancelled at SIGTERM
      // while B's processes keep writing to the shared files; B ships those writes, and the rows
      // are checked below. Only that exact outcome is tolerated; any other exit of A fails the test.
      if (aDone.exitCode !== 0 && !(aDone.exitCode === 1 && BEHIND.test(aDone.output)))
        problems.push(`round ${round}: A exited ${aDone.exitCode}:\n${aDone.output.slice(-1500)}`);
      await b.waitForLine(
        /litestream has taken over primary, queue, cache, cable: this bootseq replicates now/,
        60_000,
      );
      written += await writeNotes(portB, 5, `round ${round} B after`);
      process.kill(b.pid, 'SIGTERM');
      const bDone = await b.done;
      if (bDone.exitCode !== 0)
        problems.push(`round ${round}: B exited ${bDone.exitCode}:\n${bDone.output.slice(-1500)}`);
      const copy = restoreCopy(
        project.dir,
        '.demo/storage/primary.sqlite3',
        project.path(`restored/round-${round}.sqlite3`),
      );
      const rows = countRows(copy, 'notes');
      if (rows !== written) problems.push(`round ${round}: the bucket has ${rows} of ${written} notes`);
    }
    const { samples, overlaps } = watch.stop();
    expect(problems).toEqual([]);
    expect(samples).toBeGreaterThan(ROUNDS * 10);
    expect(overlaps).toEqual([]);
    expect(processesIn(project.dir)).toEqual([]);
  },
);
