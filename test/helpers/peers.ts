// The real tools for the peer tests (test/peers/): found through the manifest that the peers rig
// (scripts/peers.sh) writes in its cache, never on PATH, so a test runs the pinned version or fails
// saying how to install it. Also: running a tool with a deadline, and PostgreSQL URLs in each tool's form.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TmpProject } from './project.js';

export type PeerTool = 'sqlx' | 'flyway' | 'litestream' | 'litestream5' | 's3';

/** The rig's cache: the same default as scripts/peers.sh. */
export function peersDir(): string {
  return process.env['BOOTSEQ_PEERS_DIR'] ?? path.join(os.homedir(), '.cache', 'bootseq-peers');
}

interface ManifestEntry {
  path: string;
  pinned: string;
  version: string;
}

/** The executable of a tool the rig installed; throws with the command to run when it did not. */
export function peerTool(tool: PeerTool): string {
  const manifest = path.join(peersDir(), 'manifest.json');
  let entries: Record<string, ManifestEntry>;
  try {
    entries = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Record<string, ManifestEntry>;
  } catch {
    throw new Error(
      `the peers rig has not been run: ${manifest} is missing. Run \`npm run peers\` (scripts/peers.sh) first`,
    );
  }
  const entry = entries[tool];
  if (!entry || !fs.existsSync(entry.path))
    throw new Error(`the peers rig has not installed ${tool} in ${peersDir()}: run \`npm run peers\``);
  return entry.path;
}

/** What the rig recorded as the tool's own version line. */
export function peerVersion(tool: PeerTool): string {
  peerTool(tool);
  const entries = JSON.parse(fs.readFileSync(path.join(peersDir(), 'manifest.json'), 'utf8')) as Record<
    string,
    ManifestEntry
  >;
  return entries[tool]!.version;
}

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr, for assertion messages. */
  output: string;
}

/** Runs a tool to completion (SIGKILLed after `timeoutMs`); never throws on a non-zero exit. */
export function runTool(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
    });
  });
}

/** `postgres://user:pw@host:port/db` as JDBC wants it: the URL, the user and the password apart. */
export function jdbcPostgres(url: string): { url: string; user: string; password: string } {
  const u = new URL(url);
  return {
    url: `jdbc:postgresql://${u.host}${u.pathname}`,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
}

/**
 * A project whose one SQLite store is data/app.sqlite3, replicated to the file replica replica/app
 * (the sqlx and Flyway peer tests): writes litestream.yml and makes data/; returns the database's path.
 */
export function useSqliteAppStore(project: TmpProject): string {
  project.write({
    'litestream.yml':
      'dbs:\n  - path: data/app.sqlite3\n    replicas:\n      - type: file\n        path: replica/app\n',
  });
  fs.mkdirSync(project.path('data'), { recursive: true });
  return project.path('data/app.sqlite3');
}
