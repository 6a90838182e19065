// The peers rig and the tests' way to it agree: `scripts/peers.sh where` names the binary the
// manifest names, and without the rig both say what to run instead of failing obscurely.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { peerTool, peersDir, runTool, type PeerTool } from '../helpers/peers.js';
import { REPO } from '../helpers/project.js';

const RIG = path.join(REPO, 'scripts/peers.sh');
const TOOLS: PeerTool[] = ['sqlx', 'flyway', 'litestream', 'litestream5', 's3'];

test.each(TOOLS)('`scripts/peers.sh where %s` names the binary the tests run', async (tool) => {
  const where = await runTool('bash', [RIG, 'where', tool], { env: { BOOTSEQ_PEERS_DIR: peersDir() } });
  expect(where.code, where.output).toBe(0);
  expect(where.stdout.trim()).toBe(peerTool(tool));
});

test('without the rig, the helper and the rig both name the command to run', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-no-peers-'));
  const saved = process.env['BOOTSEQ_PEERS_DIR'];
  try {
    process.env['BOOTSEQ_PEERS_DIR'] = empty;
    expect(() => peerTool('sqlx')).toThrow(
      `the peers rig has not been run: ${empty}/manifest.json is missing. Run \`npm run peers\` (scripts/peers.sh) first`,
    );
    const where = await runTool('bash', [RIG, 'where', 'sqlx'], { env: { BOOTSEQ_PEERS_DIR: empty } });
    expect(where.code).toBe(1);
    expect(where.stderr).toMatch(/peers: sqlx 0\.8\.6 is not installed in .*: run scripts\/peers\.sh/);
  } finally {
    if (saved === undefined) delete process.env['BOOTSEQ_PEERS_DIR'];
    else process.env['BOOTSEQ_PEERS_DIR'] = saved;
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
