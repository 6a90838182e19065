// Leases as the kernel keeps them: another process holding the lock file (a real one, via SQLite's
// BEGIN IMMEDIATE) makes tryLease say no at once; its death gives the lease back without anybody
// deleting anything.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  describeHolder,
  holdsLease,
  leaseFile,
  readHolder,
  releaseLease,
  tryLease,
} from '../../../db/lease.js';
import { REPO } from '../../helpers/project.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-lease-'));
  dirs.push(dir);
  return path.join(dir, 'app.sqlite3');
}

/** Another process that takes the lock the way bootseq does and keeps it until killed. */
async function holdInAnotherProcess(lock: string): Promise<ChildProcess> {
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const script = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(lock)}); db.exec('BEGIN IMMEDIATE'); console.log('held'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return child;
}

describe('leases', () => {
  test('lock files live in .<db>-bootseq beside the database, and nowhere else', () => {
    expect(leaseFile('/v/storage/app.sqlite3', 'boot')).toEqual({
      lock: '/v/storage/.app.sqlite3-bootseq/boot.lock',
      info: '/v/storage/.app.sqlite3-bootseq/boot.json',
    });
    expect(leaseFile('/v/storage/app.sqlite3', 'replicate').lock).toBe(
      '/v/storage/.app.sqlite3-bootseq/replicate.lock',
    );
  });

  test('taken, held, described and given back', async () => {
    const file = leaseFile(tempDb(), 'replicate');
    const me = { pid: process.pid, host: 'web-1', since: '2026-12-01T10:02:11.000Z' };
    expect(await tryLease(file, me)).toBe(true);
    expect(holdsLease(file)).toBe(true);
    expect(await tryLease(file, me)).toBe(true); // already this process's
    expect(readHolder(file)).toEqual(me);
    expect(describeHolder(readHolder(file))).toBe(`pid ${process.pid} on web-1 (since 10:02:11 UTC)`);
    releaseLease(file);
    expect(holdsLease(file)).toBe(false);
  });

  test('another process holds it: no at once; killed outright: the kernel gives it back', async () => {
    const file = leaseFile(tempDb(), 'boot');
    const other = await holdInAnotherProcess(file.lock);
    const me = { pid: process.pid, host: 'web-2', since: new Date().toISOString() };
    const started = Date.now();
    expect(await tryLease(file, me)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000); // never waits on the lock itself
    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('exit', resolve));
    expect(await tryLease(file, me)).toBe(true);
    releaseLease(file);
  });
});
