// Issue 27 item 4: a replica written by Litestream v0.3.13 met by a bootseq running v0.5.17 (an
// upgrade), and the way back (docs/litestream-v05.md F). Up: v0.5 restores the v0.3 replica and
// continues it beside the v0.3 files, every note kept. Back: a v0.3 restore of that replica would bring
// back the v0.3 data or nothing, so a v0.3 bootseq refuses it (exit 1), with the database in place and
// without, and leaves the replica byte-identical. The demo, a file replica, both real binaries.

import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { setKeys } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { NPM_LITESTREAM } from '../helpers/litestream.js';
import { postNotes } from '../helpers/notes.js';
import { peerTool } from '../helpers/peers.js';
import { READY, type TmpProject, processesIn } from '../helpers/project.js';
import { countRows } from '../helpers/sqlite.js';
import { s3Litestream } from '../helpers/s3.js';
import { treeDigest } from '../helpers/tree.js';

/** Boots the demo with `bin`, writes `count` notes from `from`, stops it; returns its output. */
async function bootAndWrite(project: TmpProject, bin: string, count: number, from: number) {
  setKeys(project, ['litestream'], { bin });
  const boot = project.start(['up', '--log-format', 'plain']);
  await boot.waitForLine(READY);
  await postNotes(project.port, count, 'note', from);
  process.kill(boot.pid, 'SIGTERM');
  const result = await boot.done;
  expect(result.exitCode, result.output.slice(-3000)).toBe(0);
  expect(result.output).toContain("litestream's final sync put every store's last writes in the replica");
  return result.output;
}

test('v0.3 → v0.5 restores and continues the replica; back to v0.3 is refused, the replica untouched', async ({
  project,
}) => {
  const v05 = peerTool('litestream5');
  const replica = project.path('.demo/replica/primary');
  const storage = project.path('.demo/storage');

  await bootAndWrite(project, NPM_LITESTREAM, 10, 0);
  expect(fs.readdirSync(replica)).toEqual(['generations']);

  // The upgrade, on a new volume: v0.5 restores what v0.3 wrote, then writes LTX files beside it.
  fs.rmSync(storage, { recursive: true });
  const up = await bootAndWrite(project, v05, 5, 10);
  expect(up).toMatch(/\[restore:primary\] restored \.demo\/storage\/primary\.sqlite3 \(\d+ bytes\)/);
  expect(fs.readdirSync(replica).sort()).toEqual(['generations', 'ltx']);
  expect(countRows(path.join(storage, 'primary.sqlite3'), 'notes')).toBe(15);
  // What the replica restores now, through v0.5 (bootseq's rehearsal: a copy, nothing live touched).
  const rehearsal = await project.run(['rehearse', '--into', 'rehearsal']);
  expect(rehearsal.exitCode, rehearsal.output.slice(-3000)).toBe(0);
  expect(countRows(project.path('rehearsal/primary.sqlite3'), 'notes')).toBe(15);

  // The way back: refused with the database in place, and on a new volume (never a fresh start).
  setKeys(project, ['litestream'], { bin: NPM_LITESTREAM });
  const before = treeDigest(project.path('.demo/replica'));
  for (const volume of ['kept', 'new']) {
    if (volume === 'new') fs.rmSync(storage, { recursive: true });
    const back = await project.run(['up', '--log-format', 'plain']);
    expect(back.exitCode, back.output.slice(-3000)).toBe(1);
    expect(back.stderr).toMatch(
      /Error: restore:\w+ failed: the replica \S+ of \w+ holds Litestream v0\.5 backups \(LTX files\) \(ltx\/\), which Litestream v0\.3 cannot read/,
    );
    expect(back.stderr).toMatch(
      /Try: run the Litestream that wrote them \(litestream\.bin: a v0\.5\.x binary/,
    );
    expect(project.report().tasks.find((t) => t.id === 'replicate')?.status).toBe('skipped');
    expect(processesIn(project.dir)).toEqual([]);
  }
  expect(treeDigest(project.path('.demo/replica'))).toEqual(before);
  expect(fs.existsSync(path.join(storage, 'primary.sqlite3'))).toBe(false);
});

test('S3: a bucket v0.5 wrote to is refused by v0.3, with the database in place and on a new volume', async ({
  project,
  s3,
}) => {
  await s3.createBucket('demo');
  project.write({ 'litestream.yml': s3Litestream(s3) });
  await bootAndWrite(project, peerTool('litestream5'), 5, 0);
  setKeys(project, ['litestream'], { bin: NPM_LITESTREAM });
  for (const volume of ['kept', 'new']) {
    if (volume === 'new') fs.rmSync(project.path('.demo/storage'), { recursive: true });
    const back = await project.run(['up', '--log-format', 'plain']);
    expect(back.exitCode, back.output.slice(-3000)).toBe(1);
    expect(back.stderr).toMatch(
      /Error: restore:\w+ failed: the replica s3:\/\/demo\/\w+ of \w+ holds Litestream v0\.5 backups \(LTX files\) \((0000|0009)\/(, 0009\/)?\), which Litestream v0\.3 cannot read/,
    );
    expect(processesIn(project.dir)).toEqual([]);
  }
});
