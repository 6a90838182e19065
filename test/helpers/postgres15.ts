// Debian's PostgreSQL 15 server for the tests that need pg_dump/pg_restore: the machine's client tools
// are version 15 and refuse the embedded PostgreSQL 17 server. Started as the `postgres` user, on a free
// port, in a temp dir that stop() removes.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './project.js';

const BIN = '/usr/lib/postgresql/15/bin';

export interface Postgres15 {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startPostgres15(): Promise<Postgres15> {
  if (!fs.existsSync(path.join(BIN, 'initdb')))
    throw new Error(`${BIN}/initdb is missing: apt-get install -y postgresql-15`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-pg15-'));
  const data = path.join(root, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (file: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(BIN, file), ...args], { stdio: 'pipe' })
      : execFileSync(path.join(BIN, file), args, { stdio: 'pipe' });
  if (asRoot) execFileSync('chown', ['postgres', root]);
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  run('pg_ctl', [
    '-D',
    data,
    '-o',
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${root} -c fsync=off`,
    '-l',
    path.join(root, 'log'),
    '-w',
    'start',
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
      return Promise.resolve();
    },
  };
}
