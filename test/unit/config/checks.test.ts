// Issue 30's keys: processes.NAME.liveness (defaults, exactly one check, an exec that exists) and
// health.heartbeat (an http(s) URL, redacted wherever it would be printed: its path is the key).

import { describe, expect, test } from 'vitest';
import type { ConfigFs } from '../../../config/load.js';
import { parserOn } from '../../helpers/parse-config.js';

const fakeFs: ConfigFs = {
  readFile: () => undefined,
  exists: () => false,
  isDirectory: () => false,
  isExecutable: (f) => ['/usr/bin/node', '/usr/bin/curl'].includes(f),
};

const parse = parserOn(fakeFs);

describe('processes.NAME.liveness', () => {
  test('defaults: every 10s, timeout 5s, 3 failures in a row', () => {
    const { config, issues } = parse(
      "processes:\n  web: { command: node web.js, liveness: { http: 'http://127.0.0.1:3000/up' } }\n",
    );
    expect(issues).toEqual([]);
    expect(config?.processes[0]?.liveness).toEqual({
      http: 'http://127.0.0.1:3000/up',
      tcp: undefined,
      exec: undefined,
      everyMs: 10_000,
      timeoutMs: 5000,
      failures: 3,
    });
  });

  test('without liveness: undefined (checked only by its ready check and its exit)', () => {
    const { config } = parse('processes:\n  web: { command: node web.js }\n');
    expect(config?.processes[0]?.liveness).toBeUndefined();
  });

  test.each([
    ['liveness: { every: 5s }', 'processes.web.liveness: expected exactly one of http, tcp, exec'],
    [
      "liveness: { tcp: 3000, exec: 'curl -f http://x' }",
      'processes.web.liveness: expected exactly one of http, tcp, exec, found tcp and exec',
    ],
    ["liveness: { http: 'ftp://x' }", 'processes.web.liveness.http: expected an http:// or https:// URL'],
    ['liveness: { tcp: 3000, failures: 0 }', 'processes.web.liveness.failures'],
    ["liveness: { exec: 'nope --x' }", 'processes.web.liveness.exec'],
  ])('%s is refused: %s', (liveness, expected) => {
    const { config, issues } = parse(`processes:\n  web:\n    command: node web.js\n    ${liveness}\n`);
    expect(config).toBeUndefined();
    expect(issues.map((i) => `${i.path}: ${i.message}`).join('\n')).toContain(expected);
  });
});

describe('health.heartbeat', () => {
  test('every defaults to 1m; the URL is kept for the heartbeat and hidden everywhere else', () => {
    const { config, issues } = parse(
      "health:\n  heartbeat: { url: '${HC_URL}' }\nprocesses:\n  web: { command: 'node web.js' }\n",
      { HC_URL: 'https://hc-ping.com/0f6c1e2a-3b4d-4e5f-8a9b-c0d1e2f3a4b5' },
    );
    expect(issues).toEqual([]);
    expect(config?.health.heartbeat).toEqual({
      url: 'https://hc-ping.com/0f6c1e2a-3b4d-4e5f-8a9b-c0d1e2f3a4b5',
      everyMs: 60_000,
    });
    expect(config?.redact('GET https://hc-ping.com/0f6c1e2a-3b4d-4e5f-8a9b-c0d1e2f3a4b5 failed')).toBe(
      'GET https://hc-ping.com/*** failed',
    );
    // Written in bootseq.yml itself, not through a variable: a secret all the same.
    const inline = parse(
      "health: { heartbeat: { url: 'https://uptime.example.com/api/v1/heartbeat/k3y5ecret', every: 30s } }\n",
    );
    expect(inline.config?.health.heartbeat?.everyMs).toBe(30_000);
    expect(inline.config?.redact('to https://uptime.example.com/api/v1/heartbeat/k3y5ecret?x=1')).toBe(
      'to https://uptime.example.com/***?x=1',
    );
  });

  test('a URL that is not http(s) is refused, and not echoed', () => {
    const { config, issues } = parse("health: { heartbeat: { url: 'hc-ping.com/s3cr3t-uuid' } }\n");
    expect(config).toBeUndefined();
    const text = issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    expect(text).toContain('health.heartbeat.url: expected an http:// or https:// URL');
    expect(text).not.toContain('s3cr3t-uuid');
  });
});

describe('rehearse', () => {
  test('every is required; into defaults to <report.dir>/rehearsals, keep 10, fail_ready off', () => {
    const { config, issues } = parse(
      "stores:\n  app: { postgres: 'postgres://app@db/app' }\nrehearse: { every: 6h }\nreport: { dir: runs }\n",
    );
    expect(issues).toEqual([]);
    expect(config?.rehearse).toEqual({
      everyMs: 21_600_000,
      into: '/p/runs/rehearsals',
      keep: 10,
      failReady: false,
    });
    const missing = parse('rehearse: { into: /tmp/r }\n');
    expect(missing.issues.map((i) => i.path)).toContain('rehearse.every');
    const nothing = parse('rehearse: { every: 1h }\n');
    expect(nothing.issues.map((i) => `${i.path}: ${i.message}`)).toContain(
      'rehearse: there is no store to rehearse (expected stores: with a sqlite or postgres store)',
    );
  });

  test('without rehearse: no scheduled rehearsals', () => {
    expect(parse('processes:\n  web: { command: node web.js }\n').config?.rehearse).toBeUndefined();
  });
});
