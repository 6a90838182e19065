// `services:` at preflight: every URL bootseq cannot wait on is refused with its key, the value shown
// redacted; who waits for each service is resolved from `processes.*.after`.

import { describe, expect, test } from 'vitest';
import type { ConfigFs } from '../../../config/load.js';
import type { Config } from '../../../config/schema.js';
import { parseServiceUrl } from '../../../config/services.js';
import { formatIssue } from '../../../core/errors.js';
import { parserOn } from '../../helpers/parse-config.js';

const fakeFs: ConfigFs = {
  readFile: () => undefined,
  exists: () => false,
  isDirectory: () => false,
  isExecutable: (f) => f === '/usr/bin/node',
};

const parse = parserOn(fakeFs);

const issuesOf = (text: string, env: Record<string, string> = {}) => parse(text, env).issues.map(formatIssue);

function configOf(text: string): Config {
  const result = parse(text);
  expect(result.issues.map(formatIssue)).toEqual([]);
  if (!result.config) throw new Error('no config');
  return result.config;
}

describe('parseServiceUrl', () => {
  test.each([
    ['redis://cache.internal', { scheme: 'redis', host: 'cache.internal', port: 6379 }],
    ['redis://:pw@127.0.0.1:6380/0', { scheme: 'redis', host: '127.0.0.1', port: 6380 }],
    ['rediss://user:p@ss@cache:6390', { scheme: 'rediss', host: 'cache', port: 6390 }],
    ['amqp://guest:guest@rabbit', { scheme: 'amqp', host: 'rabbit', port: 5672 }],
    ['amqps://rabbit', { scheme: 'amqps', host: 'rabbit', port: 5671 }],
    ['tcp://[::1]:9000', { scheme: 'tcp', host: '::1', port: 9000 }],
    ['http://billing.internal/health', { scheme: 'http', host: 'billing.internal', port: 80 }],
    ['HTTPS://billing.internal:8443/up?x=1', { scheme: 'https', host: 'billing.internal', port: 8443 }],
  ])('%s connects to %o', (url, expected) => {
    expect(parseServiceUrl(url)).toEqual(expected);
  });

  test.each([
    ['localhost:6379', /^expected a URL such as redis:\/\/host:6379/],
    ['cache.internal', /^expected a URL such as redis:\/\/host:6379/],
    ['redis:/x', /^expected redis:\/\/HOST after the scheme$/],
    ['postgres://db/app', /^has the scheme "postgres" \(expected one of redis, rediss/],
    ['redis://cache:99999', /^has the port "99999" \(expected 1 to 65535\)$/],
    ['tcp://cache:0', /^has the port "0"/],
    ['tcp://cache:63a', /^has the port "63a"/],
    ['http://', /^has no host/],
    ['redis://', /^has no host/],
    ['redis://:pw@', /^has no host/],
    ['tcp://cache', /^has no port \(expected tcp:\/\/HOST:PORT\)$/],
  ])('%s is refused: %s', (url, problem) => {
    expect(parseServiceUrl(url)).toMatch(problem);
  });
});

describe('services: at preflight', () => {
  test('each bad URL is refused under its key, the password redacted, all at once', () => {
    const issues = issuesOf(
      [
        'services:',
        '  a: { url: "localhost:6379" }',
        '  b: { url: "redis:/x" }',
        '  c: { url: "redis://:hunter2-pw@cache:99999" }',
        '  d: { url: "http://" }',
        '  e: { url: "${REDIS_URL}" }',
        '',
      ].join('\n'),
      { REDIS_URL: 'redis:/:env-pass@cache' },
    );
    expect(issues).toEqual([
      expect.stringMatching(
        /^bootseq\.yml: services\.a\.url: expected a URL such as .*, found "localhost:6379"$/,
      ),
      'bootseq.yml: services.b.url: expected redis://HOST after the scheme, found "redis:/x"',
      'bootseq.yml: services.c.url: has the port "99999" (expected 1 to 65535), found "redis://:***@cache:99999"',
      expect.stringMatching(/^bootseq\.yml: services\.d\.url: has no host .*, found "http:\/\/"$/),
      expect.stringMatching(
        /^bootseq\.yml: services\.e\.url: expected redis:\/\/HOST after the scheme, found /,
      ),
    ]);
    expect(issues.join('\n')).not.toContain('hunter2-pw');
  });

  test('a name outside [a-z][a-z0-9_-]*, a missing url and a wait without unit are refused', () => {
    expect(issuesOf('services:\n  Redis: { url: "redis://r" }\n  api: { wait: 30 }\n')).toEqual([
      'bootseq.yml: services: "Redis" is not a valid name: expected a name of lowercase letters, digits, _ and - (starting with a letter)',
      expect.stringMatching(/^bootseq\.yml: services\.api\.url: /),
      expect.stringMatching(/^bootseq\.yml: services\.api\.wait: expected a duration/),
    ]);
  });

  test('wait defaults to 30 s; a service no process names is waited on before migrate', () => {
    const config = configOf(
      'services:\n  redis: { url: "redis://:pw@cache" }\n  api: { url: "http://api/up", wait: 5s }\n',
    );
    expect(config.services).toEqual([
      {
        name: 'redis',
        url: 'redis://:pw@cache',
        scheme: 'redis',
        host: 'cache',
        port: 6379,
        waitMs: 30_000,
        processes: [],
      },
      {
        name: 'api',
        url: 'http://api/up',
        scheme: 'http',
        host: 'api',
        port: 80,
        waitMs: 5000,
        processes: [],
      },
    ]);
  });

  test('processes.*.after may name a service: only those processes wait for it, the order stays', () => {
    const config = configOf(
      [
        'services:',
        '  api: { url: "http://api/up" }',
        'processes:',
        '  worker: { command: node w.js }',
        '  web: { command: node web.js, after: [api] }',
        '  admin: { command: node a.js, after: [worker, api] }',
        '',
      ].join('\n'),
    );
    expect(config.services[0]?.processes).toEqual(['web', 'admin']);
    const [worker, web, admin] = config.processes;
    expect([worker?.after, worker?.services]).toEqual([undefined, []]);
    // Only a service named: still after the process written before it.
    expect([web?.after, web?.services]).toEqual([undefined, ['api']]);
    expect([admin?.after, admin?.services]).toEqual([['worker'], ['api']]);
  });

  test('an after: name that is both a process and a service, or neither, is refused', () => {
    expect(
      issuesOf(
        [
          'services:',
          '  worker: { url: "tcp://w:1" }',
          'processes:',
          '  worker: { command: node w.js }',
          '  web: { command: node web.js, after: [worker, redis] }',
          '',
        ].join('\n'),
      ),
    ).toEqual([
      'bootseq.yml: processes.web.after[0]: "worker" is both processes.worker and services.worker (expected one meaning; rename one of them)',
      'bootseq.yml: processes.web.after[1]: unknown process or service "redis" (processes: worker, web; services: worker)',
    ]);
  });
});
