// Secrets whatever bytes they hold (issue 29, items 1-3): passwords with quotes, spaces, `%` and `@`
// in every place a URL can be given, `?token=` parameters, `${…}` with nested defaults and `$$`, and
// secret files that are not regular files (a FIFO with no writer must not hang the load). The fuzz
// test is seeded: a failure prints its seed and case, and repeats.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse as parsePg } from 'pg-connection-string';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { realFs, type ConfigFs } from '../../../config/context.js';
import { parseConfig } from '../../../config/load.js';
import type { Config } from '../../../config/schema.js';
import { createExpander } from '../../../config/secrets.js';
import { buildGraph, topologicalOrder } from '../../../core/graph.js';
import { formatIssue } from '../../../core/errors.js';
import { PHASE_LIST } from '../../../phases/index.js';
import { credentialsOf } from '../../../phases/service/probe.js';
import { random } from '../../helpers/random.js';
import { parserOn } from '../../helpers/parse-config.js';

const FILES: Record<string, string> = {};
const fakeFs: ConfigFs = {
  readFile: (f) => FILES[f],
  exists: (f) => f in FILES,
  isDirectory: () => false,
  isExecutable: (f) => f === '/usr/bin/node' || f === '/usr/bin/true',
};

const parse = parserOn(fakeFs);

function configOf(text: string, env: Record<string, string> = {}): Config {
  const result = parse(text, env);
  expect(result.issues.map(formatIssue)).toEqual([]);
  if (!result.config) throw new Error('no config');
  return result.config;
}

/** What `bootseq plan` prints for the config, plain and JSON (commands/plan.ts's fields). */
function planOf(config: Config): string {
  const tasks = topologicalOrder(buildGraph(PHASE_LIST, config, {}));
  return [
    ...tasks.map((t) => `${t.id}  ${t.describe}`),
    JSON.stringify(tasks.map((t) => ({ id: t.id, describe: t.describe }))),
  ].join('\n');
}

const HOSTILE = `Qx7'kp"Vb9 wz`;
/** A process that waits for every service, so that plan lists them. */
const WEB = 'processes:\n  web: { command: /usr/bin/true, after: [redis] }\n';

describe('a URL password with quotes, spaces, % and @', () => {
  test.each([
    ['services.NAME.url from a variable', `services:\n  redis: { url: "\${REDIS_URL}" }\n${WEB}`],
    ['stores.NAME.postgres from a variable', `stores:\n  db: { postgres: "\${REDIS_URL}" }\n`],
  ])('%s: plan shows the user, host and port, never a byte of the password', (_where, text) => {
    const env = {
      REDIS_URL: text.includes('postgres')
        ? `postgres://default:${HOSTILE}@127.0.0.1:5432/app`
        : `redis://default:${HOSTILE}@127.0.0.1:6379`,
    };
    const config = configOf(text, env);
    const plan = planOf(config);
    const url = config.services[0]?.url ?? config.stores[0]?.location ?? '';
    expect(config.redact(url)).toMatch(/^(redis|postgres):\/\/default:\*\*\*@127\.0\.0\.1:\d+(\/app)?$/);
    if (config.services.length) expect(plan).toContain('redis://default:***@127.0.0.1:6379');
    for (const piece of [HOSTILE, 'Vb9 wz', `Qx7'kp`, 'Vb9%20wz', "Qx7\\'kp"])
      expect(plan).not.toContain(piece);
    // The app printing the URL in its own words: hidden too.
    expect(config.redact(`connected to ${env.REDIS_URL} as "default"`)).toMatch(
      /^connected to (redis|postgres):\/\/default:\*\*\*@127\.0\.0\.1:\d+(\/app)? as "default"$/,
    );
  });

  test.each([
    [`p%ss`, `p%ss`],
    [`50%off`, `50%off`],
    [`${HOSTILE}%`, `${HOSTILE}%`],
    [`p@ss`, `p@ss`],
    [`pa/ss?#x`, `pa/ss?#x`],
    [`g%40est`, `g@est`],
    [`caf%C3%A9`, `café`],
  ])(
    'the password %j is sent as %j (percent and two hex digits is an escape, any other percent is itself)',
    (written, sent) => {
      const config = configOf(`services:\n  redis: { url: "\${REDIS_URL}" }\n`, {
        REDIS_URL: `redis://default:${written}@cache:6379/0`,
      });
      const service = config.services[0]!;
      expect(credentialsOf(service.url)).toEqual({ user: 'default', password: sent });
      expect({ host: service.host, port: service.port }).toEqual({ host: 'cache', port: 6379 });
      expect(config.redact(service.url)).toBe('redis://default:***@cache:6379/0');
      expect(config.redact(`AUTH default ${sent}`)).toBe('AUTH default ***');
    },
  );

  test('an error about the URL stays readable: scheme, user, host and port shown, the password hidden', () => {
    const result = parse(`services:\n  redis: { url: "\${REDIS_URL}" }\n`, {
      REDIS_URL: `redis://default:p@${HOSTILE}%@cache:99999`,
    });
    expect(result.issues.map(formatIssue)).toEqual([
      'bootseq.yml: services.redis.url: has the port "99999" (expected 1 to 65535), found "redis://default:***@cache:99999"',
    ]);
  });

  test('a server answer is not redacted into nonsense by a password holding @', () => {
    const config = configOf(`services:\n  redis: { url: "\${REDIS_URL}" }\n`, {
      REDIS_URL: `redis://default:p@${HOSTILE}%@cache:6379`,
    });
    const answer = 'WRONGPASS invalid username-password pair or user is disabled.';
    expect(config.redact(answer)).toBe(answer);
  });

  test('an unencoded path or query @ after a plain host:port is not taken for a password', () => {
    const config = configOf(
      `services:\n  api: { url: "http://api.internal:8080/up?from=ops@example.com" }\n`,
    );
    expect(config.services[0]).toMatchObject({ host: 'api.internal', port: 8080 });
  });
});

describe('secret query parameters', () => {
  test.each([
    ['token', 'http://api.internal/up?token=t0k-3n&x=1', 'http://api.internal/up?token=***&x=1'],
    ['api_key', 'https://api.internal/up?api_key=k3y-v4lue', 'https://api.internal/up?api_key=***'],
    [
      'sig',
      'https://b.example/o?X-Amz-Signature=abc123def&v=2',
      'https://b.example/o?X-Amz-Signature=***&v=2',
    ],
    [
      'password',
      'postgres://app@db/app?sslmode=require&password=s3cr3t-pw',
      'postgres://app@db/app?sslmode=require&password=***',
    ],
  ])('%s is hidden in plan and in what the app prints; other parameters are shown', (_name, url, shown) => {
    const key = url.startsWith('postgres')
      ? 'stores:\n  db: { postgres: "${U}" }\n'
      : 'services:\n  api: { url: "${U}" }\n';
    const config = configOf(key, { U: url });
    const value = /=([^&]*)(&|$)/.exec(
      url
        .slice(url.indexOf('?') + 1)
        .split('&')
        .find((p) => !/^(x|v|sslmode)=/.test(p))!,
    )![1]!;
    expect(planOf(config)).not.toContain(value);
    expect(config.redact(`GET ${url}`)).toBe(`GET ${shown}`);
  });

  test('a token with a space or a quote is hidden whole when it came from the config', () => {
    const config = configOf('services:\n  api: { url: "${U}" }\n', {
      U: `http://api.internal/up?token=a b"c'd`,
    });
    expect(config.redact(`token is a b"c'd`)).toBe('token is ***');
  });

  test('an app printing a URL with a secret parameter bootseq never saw: hidden to the next & or space', () => {
    const config = configOf('');
    expect(config.redact('fetching https://x.example/f?id=3&access_token=ya29.a0AfH6 done')).toBe(
      'fetching https://x.example/f?id=3&access_token=*** done',
    );
  });
});

describe('${…} expansion', () => {
  const expand = (text: string, env: Record<string, string> = {}) =>
    createExpander({ env, readFile: () => undefined }).expand(text);

  test.each([
    ['${A:-${B}}', { A: 'aa', B: 'bb' }, 'aa'],
    ['${A:-${B}}', { B: 'bb' }, 'bb'],
    ['${A:-${B:-c}}', {}, 'c'],
    ['${A:-${B:-c}}', { B: 'bb' }, 'bb'],
    ['x${A:-${B:-${C:-deep}}}y', {}, 'xdeepy'],
    ['${A:-a}${B:-b}', {}, 'ab'],
    ['${A:-}', {}, ''],
    ['${A:-x}', { A: '' }, 'x'],
    ['${A-x}', { A: '' }, ''],
    ['${A-x}', {}, 'x'],
    ['$$', {}, '$'],
    ['$${X}', { X: 'no' }, '${X}'],
    ['echo $$$$ $HOME $1', {}, 'echo $$ $HOME $1'],
    ['${A:-a}}', {}, 'a}'],
    ['${A}', { A: '${B}' }, '${B}'],
  ])('%s with %o is %j', (text, env, value) => {
    expect(expand(text, env)).toEqual({ value, problems: [] });
  });

  test.each([
    ['${A:-${B}}', ['${B} is not set (set B, or B_FILE to a file holding it)']],
    [
      '${A}${B:-${C}}',
      [
        '${A} is not set (set A, or A_FILE to a file holding it)',
        '${C} is not set (set C, or C_FILE to a file holding it)',
      ],
    ],
    ['${A:-x', ['${A:-… has no closing } (write $$ for a literal $)']],
    [
      '${A:?required}',
      [
        '${A:?… is not a reference bootseq expands (write ${NAME}, ${NAME:-default} or ${NAME-default}; $${ passes ${ on as written)',
      ],
    ],
    [
      '${}',
      [
        '${} is not a reference bootseq expands (write ${NAME}, ${NAME:-default} or ${NAME-default}; $${ passes ${ on as written)',
      ],
    ],
  ])('%s is refused naming the reference: %j', (text, problems) => {
    expect(expand(text).problems).toEqual(problems);
  });

  test('with A unset, ${A:-${B}} never reaches the shell as ${B}: the config is refused (exit 2)', () => {
    const result = parse('processes:\n  web: { command: "node ${A:-${B}}" }\n');
    expect(result.config).toBeUndefined();
    expect(result.issues.map(formatIssue)).toEqual([
      'bootseq.yml: processes.web.command: ${B} is not set (set B, or B_FILE to a file holding it)',
    ]);
  });

  test('defaults nested 10 000 deep: refused quickly, no stack overflow', () => {
    const start = Date.now();
    const { problems } = expand('${A:-'.repeat(10_000) + 'x' + '}'.repeat(10_000));
    expect(problems).toEqual(['${A:-… nests defaults more than 16 deep']);
    expect(Date.now() - start).toBeLessThan(1000);
  });
});

describe('a VAR_FILE that is not a regular file', () => {
  // The paths are known at collection (test.each names them); the folder, the FIFO and the socket are
  // made only when this block runs, so a filtered run (-t) that skips it leaves nothing in /tmp.
  const dir = path.join(os.tmpdir(), `bootseq-secret-${process.pid}-${Date.now()}`);
  const fifo = path.join(dir, 'fifo');
  const socketPath = path.join(dir, 'sock');
  let server: net.Server;
  beforeAll(() => {
    fs.mkdirSync(dir, { mode: 0o700 });
    execFileSync('mkfifo', [fifo]);
    server = net.createServer().listen(socketPath);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    [fifo, 'a FIFO (named pipe)'],
    [socketPath, 'a socket'],
    ['/dev/null', 'a character device'],
    ['/dev/zero', 'a character device'],
    [dir, 'a directory'],
  ])('%s is refused at once as %s, naming the variable and the path', async (file, kind) => {
    await new Promise((resolve) =>
      server.listening ? resolve(undefined) : server.once('listening', resolve),
    );
    const start = Date.now();
    const result = parseConfig('version: 1\nprocesses:\n  web: { command: "node ${TOKEN}" }\n', {
      file: 'bootseq.yml',
      dir,
      env: { PATH: '/usr/bin:/bin', TOKEN_FILE: file },
      fs: realFs,
    });
    expect(Date.now() - start).toBeLessThan(1000);
    expect(result.issues.map((i) => i.message)).toEqual([
      `TOKEN_FILE names ${file}, which is ${kind}, not a regular file (expected a file holding the secret, such as /run/secrets/NAME)`,
    ]);
  });
});

describe('a VAR_FILE that is a regular file', () => {
  test('more than 64 KiB is refused: a secret is a password, a token or a URL', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-secret-'));
    try {
      fs.writeFileSync(path.join(dir, 'big'), 'x'.repeat(100_000));
      const result = parseConfig('version: 1\nprocesses:\n  web: { command: "node ${TOKEN}" }\n', {
        file: 'bootseq.yml',
        dir,
        env: { PATH: '/usr/bin:/bin', TOKEN_FILE: 'big' },
        fs: realFs,
      });
      expect(result.issues.map((i) => i.message)).toEqual([
        'TOKEN_FILE names big, which holds more than 64 KiB (expected a secret: a password, a token, a URL)',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** README's rule: a `%` and two hex digits is an escape (a run of them decoded when UTF-8), else itself. */
function decodedAsDocumented(password: string): string {
  return password.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

describe('fuzz: passwords of every printable byte, in every place a URL can be given', () => {
  // Replay one case: BOOTSEQ_FUZZ_SEED=<seed printed by a failure> npx vitest run -t fuzz
  const SEED = Number(process.env['BOOTSEQ_FUZZ_SEED'] ?? 0x29);
  const CASES = 350;
  const BYTES = [...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), 'é', 'ß', '中', '🙂'];
  /** A YAML double-quoted scalar holding `text` as written: JSON is one, and `$$` is bootseq's `$`. */
  const yamlString = (text: string) => JSON.stringify(text.replaceAll('$', '$$$$'));
  const redisUrl = (pw: string, port = 6379) => `redis://default:${pw}@cache:${port}/0`;
  const pgUrl = (pw: string, scheme = 'postgres') => `${scheme}://default:${pw}@cache:5432/app`;
  const web = 'processes:\n  web: { command: /usr/bin/true, after: [cache] }\n';
  const places: {
    where: string;
    config: (pw: string, broken: boolean) => { text: string; env: Record<string, string> };
  }[] = [
    {
      where: 'services.NAME.url as written',
      config: (pw, broken) => ({
        text: `services:\n  cache: { url: ${yamlString(redisUrl(pw, broken ? 99999 : 6379))} }\n${web}`,
        env: {},
      }),
    },
    {
      where: 'services.NAME.url from ${VAR}',
      config: (pw, broken) => ({
        text: `services:\n  cache: { url: "\${CACHE_URL}" }\n${web}`,
        env: { CACHE_URL: redisUrl(pw, broken ? 99999 : 6379) },
      }),
    },
    {
      where: 'services.NAME.url with the password from ${VAR}',
      config: (pw, broken) => ({
        text: `services:\n  cache: { url: "redis://default:\${CACHE_PW}@cache:${broken ? 99999 : 6379}/0" }\n${web}`,
        env: { CACHE_PW: pw },
      }),
    },
    {
      where: 'stores.NAME.postgres as written',
      config: (pw, broken) => ({
        text: `stores:\n  db: { postgres: ${yamlString(pgUrl(pw, broken ? 'mysql' : 'postgres'))} }\n`,
        env: {},
      }),
    },
    {
      where: 'stores.NAME.postgres from ${VAR}',
      config: (pw, broken) => ({
        text: 'stores:\n  db: { postgres: "${DATABASE_URL}" }\n',
        env: { DATABASE_URL: pgUrl(pw, broken ? 'mysql' : 'postgres') },
      }),
    },
    {
      where: 'stores.NAME.postgres from a VAR_FILE',
      config: (pw, broken) => {
        FILES['/run/secrets/db'] = `${pgUrl(pw, broken ? 'mysql' : 'postgres')}\n`;
        return {
          text: 'stores:\n  db: { postgres: "${DATABASE_URL}" }\n',
          env: { DATABASE_URL_FILE: '/run/secrets/db' },
        };
      },
    },
    {
      where: 'stores.NAME.postgres with the password from ${VAR}',
      config: (pw, broken) => ({
        text: `stores:\n  db: { postgres: "${broken ? 'mysql' : 'postgres'}://default:\${DB_PW}@cache:5432/app" }\n`,
        env: { DB_PW: pw },
      }),
    },
  ];

  test(`${CASES} passwords (seed ${SEED}): never in plan, the redacted URL, what the app prints, or the config error`, () => {
    const next = random(SEED);
    for (let n = 0; n < CASES; n += 1) {
      const length = 6 + Math.floor(next() * 20);
      let pw = '';
      for (let i = 0; i < length; i += 1) pw += BYTES[Math.floor(next() * BYTES.length)];
      const place = places[n % places.length]!;
      const replay = `case ${n}, ${place.where}, password ${JSON.stringify(pw)} (seed ${SEED})`;
      const hidden = (text: string) => {
        expect(text, replay).not.toContain(pw);
        expect(text, replay).not.toContain(JSON.stringify(pw).slice(1, -1));
      };

      const ok = place.config(pw, false);
      const config = configOf(ok.text, ok.env);
      const url = config.services[0]?.url ?? config.stores[0]?.location ?? '';
      // What the probe sends and what pg connects with: the password as written, %XX decoded.
      const sent = config.services[0] ? credentialsOf(url).password : parsePg(url).password;
      expect(sent, replay).toBe(decodedAsDocumented(pw));
      const plan = planOf(config);
      const shown = config.redact(url);
      expect(shown, replay).toMatch(/^(redis|postgres):\/\/default:\*\*\*@cache:(6379\/0|5432\/app)$/);
      const printed = config.redact(`[web] connecting to ${url} (raw ${redisUrl(pw)}) as default:${sent}`);
      for (const text of [plan, shown, printed, JSON.stringify({ line: printed })]) hidden(text);

      const bad = place.config(pw, true);
      const errors = parse(bad.text, bad.env).issues.map(formatIssue).join('\n');
      expect(errors, replay).toMatch(/(redis|mysql):\/\/default:\*\*\*@cache:(99999\/0|5432\/app)/);
      hidden(errors);
    }
  });
});
