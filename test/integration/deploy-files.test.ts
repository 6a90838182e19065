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
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { test } from '../helpers/fixtures.js';
import { closedPort } from '../helpers/ports.js';
import { CLI, READY, REPO, type TmpProject, childrenOf, freePort, processesIn } from '../helpers/project.js';

const docker = (...parts: string[]) => path.join(REPO, 'docker', ...parts);

/** A child with its stdout and stderr collected as it runs (`output()` so far) and its exit code. */
function started(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return { child, output: () => text, exited };
}

/** An instruction's exec form (`ENTRYPOINT ["tini", "--"]`) as its argv; the shell form is refused. */
function execForm(dockerfile: string, instruction: 'ENTRYPOINT' | 'CMD'): string[] {
  const lines = [...dockerfile.matchAll(new RegExp(`^${instruction} (.+)$`, 'gm'))];
  expect(lines, `${instruction}: exactly one`).toHaveLength(1);
  return JSON.parse(lines[0]![1]!) as string[];
}

interface K8sContainer {
  name: string;
  command?: string[];
  args?: string[];
}
interface K8sPod {
  initContainers?: K8sContainer[];
  containers: K8sContainer[];
}

function loadYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown);
}

describe('docker/', () => {
  test('the Dockerfile lints clean, copies what exists, keeps tini as ENTRYPOINT and bootseq up as CMD, runs as a user, health-checks without curl', () => {
    const text = fs.readFileSync(docker('Dockerfile'), 'utf8');
    expect(validate(text)).toEqual([]);
    expect(execForm(text, 'ENTRYPOINT')).toEqual(['tini', '--']);
    expect(execForm(text, 'CMD')).toEqual(['bootseq', 'up']);
    // bootseq status answers over the control socket: the same verdict as /readyz, no curl in the image.
    expect(text).toMatch(/^HEALTHCHECK .*CMD \["bootseq", "status"\]$/m);
    const instructions = text.split('\n').filter((l) => !l.startsWith('#'));
    expect(instructions.filter((l) => /\bcurl\b/.test(l))).toEqual([]);
    // Not root, on a maintained Node line, every apt package pinned.
    expect(text).toMatch(/^USER node$/m);
    for (const from of text.matchAll(/^FROM node:(\d+)-/gm))
      expect(Number(from[1])).toBeGreaterThanOrEqual(22);
    for (const install of text.matchAll(/apt-get install -y --no-install-recommends (.+?)(?: \\|$)/gm))
      for (const pkg of install[1]!.split(/\s+/)) expect(pkg, pkg).toMatch(/^[a-z0-9+.-]+=\S+$/);
    // The build context is the repository root: .dockerignore keeps node_modules and the rest out.
    const ignored = fs.readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', '.git', '.demo']) expect(ignored).toContain(entry);
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

  test('Kamal: deploy.yml is whole as Kamal reads it, the pre-deploy hook is executable bash that runs bootseq rehearse', () => {
    const deploy = parseYaml(fs.readFileSync(docker('kamal/config/deploy.yml'), 'utf8')) as Record<
      string,
      unknown
    >;
    // Kamal 2 refuses unknown top-level keys and needs service, image, servers, registry, builder.arch
    // (lib/kamal/configuration/docs/configuration.yml and builder.yml in Kamal's repository).
    const KAMAL_KEYS = new Set([
      'service',
      'image',
      'labels',
      'volumes',
      'registry',
      'servers',
      'env',
      'asset_path',
      'hooks_path',
      'hooks_output',
      'secrets_path',
      'error_pages_path',
      'require_destination',
      'primary_role',
      'allow_empty_roles',
      'retain_containers',
      'minimum_version',
      'readiness_delay',
      'deploy_timeout',
      'drain_timeout',
      'run_directory',
      'ssh',
      'builder',
      'accessories',
      'proxy',
      'sshkit',
      'boot',
      'logging',
      'output',
      'aliases',
    ]);
    expect(Object.keys(deploy).filter((k) => !KAMAL_KEYS.has(k) && !k.startsWith('x-'))).toEqual([]);
    for (const key of ['service', 'image', 'servers', 'registry', 'builder', 'proxy'])
      expect(deploy[key], key).toBeDefined();
    expect(deploy['builder']).toMatchObject({ arch: 'amd64', dockerfile: 'docker/Dockerfile' });
    expect(
      fs.existsSync(path.join(REPO, String((deploy['builder'] as { dockerfile: string }).dockerfile))),
    ).toBe(true);
    for (const key of ['hooks_path', 'secrets_path'])
      expect(fs.existsSync(path.join(REPO, String(deploy[key]))), key).toBe(true);
    expect(deploy['registry']).toMatchObject({ password: ['KAMAL_REGISTRY_PASSWORD'] });
    expect(deploy['volumes']).toEqual(['bootseq_demo_data:/app/.demo']);
    // On app_port (the only port kamal-proxy probes), where the demo web relays bootseq's /readyz.
    expect(deploy['proxy']).toMatchObject({ app_port: 3000, healthcheck: { path: '/readyz' } });
    expect(deploy['drain_timeout']).toBe(30);
    const hook = docker('kamal/.kamal/hooks/pre-deploy');
    expect(fs.statSync(hook).mode & 0o111).not.toBe(0);
    expect(spawnSync('bash', ['-n', hook]).status).toBe(0);
    expect(fs.readFileSync(hook, 'utf8')).toContain('bootseq rehearse --into');
  });

  test('every command each tool starts, rebuilt from the files by its own rule, runs: Docker, Fly, Kamal, Kubernetes', async ({
    project,
  }) => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-bin-'));
    fs.symlinkSync(CLI, path.join(bin, 'bootseq'));
    const env = { ...process.env, PATH: `${bin}:${process.env['PATH']}`, DEMO_PORT: String(project.port) };
    const dockerfile = fs.readFileSync(docker('Dockerfile'), 'utf8');
    const entrypoint = execForm(dockerfile, 'ENTRYPOINT');
    const cmd = execForm(dockerfile, 'CMD');
    // A command that replaces CMD (Docker's `run IMAGE …`, `kamal app exec`, Fly's release_command)
    // keeps the ENTRYPOINT; Kubernetes: `command` replaces ENTRYPOINT, `args` replaces CMD.
    const flyRelease = (
      parseToml(fs.readFileSync(docker('fly/fly.postgres.toml'), 'utf8')) as {
        deploy: { release_command: string };
      }
    ).deploy.release_command;
    const hook = fs.readFileSync(docker('kamal/.kamal/hooks/pre-deploy'), 'utf8');
    // The command is the last quoted word of the `kamal app exec` line (with its continuations).
    const execLine = /^kamal app exec (?:.*\\\n)*.*$/m.exec(hook)?.[0] ?? '';
    const kamalExec = [...execLine.matchAll(/"([^"]+)"/g)].at(-1)?.[1];
    expect(kamalExec).toBeDefined();
    const into = project.path('rehearsal');
    const k8s = (file: string) =>
      loadYamlDocuments(docker('kubernetes', file)).flatMap((d) => {
        const spec = (d as { spec?: { template?: { spec?: K8sPod } } }).spec?.template?.spec;
        return spec ? [...(spec.initContainers ?? []), ...spec.containers] : [];
      });
    const byK8s = (c: K8sContainer) => [...(c.command ?? entrypoint), ...(c.args ?? cmd)];
    const once: [string, string[]][] = [
      ['docker run IMAGE bootseq migrate', [...entrypoint, 'bootseq', 'migrate']],
      ['fly release_command', [...entrypoint, ...flyRelease.split(/\s+/)]],
      ['kubernetes initContainer', byK8s(k8s('postgres/deployment.yaml')[0]!)],
    ];
    for (const [tool, argv] of once) {
      const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', ...argv], {
        cwd: project.dir,
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, `${tool}: ${argv.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
    }
    // The long-running one: Docker's `run IMAGE` and the Kubernetes containers start the same command.
    const up = [...entrypoint, ...cmd];
    for (const c of [...k8s('sqlite/statefulset.yaml'), k8s('postgres/deployment.yaml')[1]!])
      expect(byK8s(c), c.name).toEqual(up);
    const { child, output, exited } = started('unshare', ['--pid', '--fork', '--mount-proc', ...up], {
      cwd: project.dir,
      env: { ...env, HOST: '127.0.0.1' },
    });
    try {
      await expect.poll(output, { timeout: 30_000 }).toMatch(READY);
      expect((await fetch(`http://127.0.0.1:${project.port}/up`)).status).toBe(200);
      const [tini] = childrenOf(child.pid!);
      process.kill(tini!, 'SIGTERM');
      expect(await exited).toBe(0);
      expect(output()).toContain('shutting down (received SIGTERM): start:web → start:worker → replicate');
      // Kamal's pre-deploy hook, against the replica that boot left: the new version's rehearsal.
      const words = kamalExec!.replace('${into}', into).split(/\s+/);
      const rehearsal = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', ...entrypoint, ...words], {
        cwd: project.dir,
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(
        rehearsal.status,
        `kamal app exec: ${words.join(' ')}\n${rehearsal.stdout}${rehearsal.stderr}`,
      ).toBe(0);
      expect(fs.existsSync(path.join(into, 'primary.sqlite3'))).toBe(true);
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

      const nobody = await closedPort(project);
      const silent = await startWeb(project, { BOOTSEQ_HEALTH_URL: `http://127.0.0.1:${nobody.port}` });
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

describe('bootseq in an image of your own: the npm package', () => {
  test('npm pack, the tarball installed into an empty folder, boots the demo from there and stops in order', async ({
    project,
  }) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-pack-'));
    try {
      const pack = spawnSync('npm', ['pack', '--pack-destination', root], { cwd: REPO, encoding: 'utf8' });
      expect(pack.status, pack.stderr).toBe(0);
      const tarball = path.join(root, pack.stdout.trim().split('\n').at(-1)!);
      // An app folder with only its own files: the demo's config and code, no bootseq source.
      const app = path.join(root, 'app');
      fs.mkdirSync(app);
      fs.writeFileSync(path.join(app, 'package.json'), '{ "name": "my-app", "private": true }\n');
      for (const file of ['bootseq.yml', 'litestream.yml'])
        fs.copyFileSync(project.path(file), path.join(app, file));
      fs.cpSync(project.path('examples'), path.join(app, 'examples'), { recursive: true });
      // --ignore-scripts: better-sqlite3's native build is the one slow step (minutes on 2 cores) and
      // proves nothing about bootseq's package; the repository's build for this same Node and version
      // (pinned by the lockfile) is put in its place. Everything else is what npm installs.
      const install = spawnSync(
        'npm',
        ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball],
        { cwd: app, encoding: 'utf8', timeout: 120_000 },
      );
      expect(install.status, install.stderr).toBe(0);
      fs.cpSync(
        path.join(REPO, 'node_modules/better-sqlite3/build'),
        path.join(app, 'node_modules/better-sqlite3/build'),
        { recursive: true },
      );
      const bin = path.join(app, 'node_modules/.bin/bootseq');
      expect(fs.existsSync(bin)).toBe(true);
      const { child, output, exited } = started(bin, ['up', '--log-format', 'plain'], {
        cwd: app,
        env: { ...process.env, DEMO_PORT: String(project.port), HOST: '127.0.0.1' },
      });
      try {
        await expect.poll(output, { timeout: 60_000 }).toMatch(READY);
        const note = await fetch(`http://127.0.0.1:${project.port}/notes`, {
          method: 'POST',
          body: 'packed',
        });
        expect(note.status).toBe(201);
        // The packaged Litestream binary replicates from the installed package.
        expect(output()).toMatch(/litestream has taken over primary, queue, cache, cable/);
        child.kill('SIGTERM');
        expect(await exited, output().slice(-1500)).toBe(0);
        expect(output()).toContain('bootseq exits with code 0');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      expect(processesIn(app)).toEqual([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
