// The deploy wiring in docker/, checked without a Docker engine: files parse and lint, say what they
// should, and the image's exact entrypoint command line boots the demo as PID 1 of a PID namespace.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { validate } from 'dockerfile-utils';
import { parse as parseToml } from 'smol-toml';
import { describe, expect } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { test } from '../helpers/fixtures.js';
import { CLI, READY, REPO, type TmpProject, childrenOf, freePort, processesIn } from '../helpers/project.js';

const docker = (...parts: string[]) => path.join(REPO, 'docker', ...parts);

describe('docker/', () => {
  test("the Dockerfile lints clean, copies what exists, runs tini -- bootseq up, health-checks bootseq's /readyz", () => {
    const text = fs.readFileSync(docker('Dockerfile'), 'utf8');
    expect(validate(text)).toEqual([]);
    expect(text).toMatch(/^ENTRYPOINT \["tini", "--", "bootseq", "up"\]$/m);
    expect(text).toMatch(/^HEALTHCHECK .*\n?.*curl -fsS http:\/\/127\.0\.0\.1:9090\/readyz /m);
    // The health server listens where the HEALTHCHECK, probes and Prometheus look for it.
    expect(text).toMatch(/^ENV .*\bHEALTH_LISTEN=0\.0\.0\.0:9090\b/m);
    expect(text).toMatch(/^EXPOSE .*\b9090\b/m);
    const copies = [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(copies.length).toBeGreaterThan(5);
    for (const source of copies) expect(fs.existsSync(path.join(REPO, source)), source).toBe(true);
  });

  test('fly.toml: SQLite migrates at boot (no release_command), Postgres as the release command', () => {
    const sqlite = parseToml(fs.readFileSync(docker('fly/fly.toml'), 'utf8')) as Record<string, unknown>;
    expect(sqlite['deploy']).toBeUndefined();
    expect(sqlite['mounts']).toEqual([{ source: 'bootseq_demo_data', destination: '/app/.demo' }]);
    expect(sqlite['kill_timeout']).toBe(30);
    const postgres = parseToml(fs.readFileSync(docker('fly/fly.postgres.toml'), 'utf8')) as {
      deploy: { release_command: string };
    };
    expect(postgres.deploy.release_command).toBe('bootseq migrate');
  });

  test("fly.toml: a top-level check asks bootseq's /readyz on 9090, the routing check stays on the web", () => {
    for (const file of ['fly/fly.toml', 'fly/fly.postgres.toml']) {
      const config = parseToml(fs.readFileSync(docker(file), 'utf8')) as {
        checks: Record<string, unknown>;
        http_service: { internal_port: number; checks: { path: string }[] };
      };
      // Only a top-level check can name a port other than internal_port.
      expect(Object.values(config.checks), file).toEqual([
        expect.objectContaining({ type: 'http', port: 9090, method: 'GET', path: '/readyz' }),
      ]);
      expect(config.http_service.internal_port, file).toBe(3000);
      expect(
        config.http_service.checks.map((c) => c.path),
        file,
      ).toEqual(['/up']);
    }
  });

  test('Kamal: the excerpt parses, the pre-deploy hook is executable bash that runs bootseq rehearse', () => {
    const deploy = parseYaml(fs.readFileSync(docker('kamal/config/deploy.yml'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(deploy['volumes']).toEqual(['bootseq_demo_data:/app/.demo']);
    // On app_port (the only port kamal-proxy probes), where the demo web relays bootseq's /readyz.
    expect(deploy['proxy']).toMatchObject({ app_port: 3000, healthcheck: { path: '/readyz' } });
    expect(deploy['drain_timeout']).toBe(30);
    const hook = docker('kamal/.kamal/hooks/pre-deploy');
    expect(fs.statSync(hook).mode & 0o111).not.toBe(0);
    expect(spawnSync('bash', ['-n', hook]).status).toBe(0);
    expect(fs.readFileSync(hook, 'utf8')).toContain('bootseq rehearse --into');
  });

  test('the exact entrypoint, tini -- bootseq up, boots the demo as PID 1 and stops in order', async ({
    project,
  }) => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-bin-'));
    fs.symlinkSync(CLI, path.join(bin, 'bootseq'));
    const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', 'tini', '--', 'bootseq', 'up'], {
      cwd: project.dir,
      env: {
        ...process.env,
        PATH: `${bin}:${process.env['PATH']}`,
        DEMO_PORT: String(project.port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      await expect.poll(() => output, { timeout: 30_000 }).toMatch(READY);
      expect((await fetch(`http://127.0.0.1:${project.port}/up`)).status).toBe(200);
      const [tini] = childrenOf(child.pid!);
      process.kill(tini!, 'SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('shutting down (received SIGTERM): start:web → start:worker → replicate');
      expect(processesIn(project.dir)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});

/** The demo's web.mjs alone (no bootseq), on the project's migrated stores; returns its port. */
async function startWeb(project: TmpProject, env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, ['examples/demo/web.mjs'], {
    cwd: project.dir,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await expect.poll(() => output, { timeout: 10_000 }).toContain('web listening');
  return port;
}

const get = async (port: number, urlPath: string) => {
  const response = await fetch(`http://127.0.0.1:${port}${urlPath}`);
  return { status: response.status, body: await response.text() };
};

describe("the demo web's /readyz, which Kamal's proxy probes on the app's port", () => {
  test('relays bootseq /readyz as it is, 503 when bootseq does not answer, 404 without BOOTSEQ_HEALTH_URL', async ({
    project,
  }) => {
    expect((await project.run(['migrate'])).exitCode).toBe(0);
    // Stands in for bootseq's health server: the contract is only "status and body of /readyz".
    let answer = { status: 503, body: 'not ready: replication lag of primary 42s > max_lag 30s\n' };
    const bootseq = http.createServer((req, res) => {
      if (req.url === '/readyz')
        res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => bootseq.listen(0, '127.0.0.1', resolve));
    const address = bootseq.address();
    const healthUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const relaying = await startWeb(project, { BOOTSEQ_HEALTH_URL: healthUrl });
      expect(await get(relaying, '/readyz')).toEqual(answer);
      answer = { status: 200, body: 'ready\n' };
      expect(await get(relaying, '/readyz')).toEqual(answer);
      expect((await get(relaying, '/up')).status).toBe(200);

      const silent = await startWeb(project, { BOOTSEQ_HEALTH_URL: `http://127.0.0.1:${await freePort()}` });
      const refused = await get(silent, '/readyz');
      expect(refused.status).toBe(503);
      expect(refused.body).toContain('bootseq health did not answer');

      // Empty counts as unset, and overrides one this test run may have inherited.
      const unwired = await startWeb(project, { BOOTSEQ_HEALTH_URL: '' });
      expect((await get(unwired, '/readyz')).status).toBe(404);
      expect((await get(unwired, '/up')).status).toBe(200);
    } finally {
      await new Promise((resolve) => bootseq.close(resolve));
    }
  });
});
