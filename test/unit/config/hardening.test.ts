// Input production really sends: passwords pasted into URLs with unencoded @ : / % #, a secret file
// that never ends (/dev/zero), a YAML alias bomb, names that are not names, and long values. None may
// freeze bootseq, leak a byte of a secret or end in an internal error.

import { describe, expect, test } from 'vitest';
import { realFs } from '../../../config/context.js';
import { parseConfig } from '../../../config/load.js';
import { createExpander, urlPasswordSpans } from '../../../config/secrets.js';

function redactorFor(...values: string[]): (text: string) => string {
  const expander = createExpander({ env: {}, readFile: () => undefined });
  for (const value of values) expander.expand(value);
  return expander.redactor();
}

describe('redaction', () => {
  test.each([
    ['postgres://app:p@ss:w%rd@db.internal:5432/app', 'p@ss:w%rd', 'postgres://app:***@db.internal:5432/app'],
    ['postgres://app:s3cret@db.internal/app', 's3cret', 'postgres://app:***@db.internal/app'],
    [
      'postgresql://u:pa/ss@h:5432/db?sslmode=require',
      'pa/ss',
      'postgresql://u:***@h:5432/db?sslmode=require',
    ],
    ['redis://:to#ken@cache:6379/0', 'to#ken', 'redis://:***@cache:6379/0'],
    ['amqps://guest:g%40est@mq/vhost', 'g%40est', 'amqps://guest:***@mq/vhost'],
    ['https://u:p:a:s:s@api.example/x', 'p:a:s:s', 'https://u:***@api.example/x'],
  ])('%s never shows its password', (url, password, shown) => {
    const redact = redactorFor(url);
    const line = `connecting to ${url} (attempt 2)`;
    const out = redact(line);
    expect(out).toBe(`connecting to ${shown} (attempt 2)`);
    expect(out).not.toContain(password);
  });

  test('a decoded password seen elsewhere is redacted too', () => {
    const redact = redactorFor('postgres://app:g%40est@mq/db');
    expect(redact('FATAL: password authentication failed for "g@est"')).toBe(
      'FATAL: password authentication failed for "***"',
    );
  });

  test('an URL in an unrelated line is redacted even when its password was never configured', () => {
    expect(redactorFor()('dsn=mysql://root:hunter2@10.0.0.1/app ok')).toBe(
      'dsn=mysql://root:***@10.0.0.1/app ok',
    );
  });

  test('time grows linearly with the line: 8× the input is far from 64× the time', () => {
    const redact = redactorFor('postgres://app:s3cret@db/app');
    const line = (n: number) => 'a'.repeat(n) + '://' + 'b'.repeat(n) + ' x:' + 'c'.repeat(n);
    const time = (text: string) => {
      const start = performance.now();
      redact(text);
      urlPasswordSpans(text);
      return performance.now() - start;
    };
    time(line(1000)); // warm up
    const small = time(line(200_000));
    const big = time(line(1_600_000));
    expect(big).toBeLessThan(Math.max(250, small * 30));
  });
});

describe('config input', () => {
  test('a VAR_FILE that never ends (/dev/zero) is refused at once, not read at all', () => {
    const start = Date.now();
    const result = parseConfig('version: 1\nstores:\n  db: { postgres: "${DATABASE_URL}" }\n', {
      file: 'bootseq.yml',
      dir: '/tmp',
      env: { DATABASE_URL_FILE: '/dev/zero' },
      fs: realFs,
    });
    expect(Date.now() - start).toBeLessThan(2000);
    expect(result.issues.map((i) => i.message)).toContain(
      'DATABASE_URL_FILE names /dev/zero, which is a character device, not a regular file (expected a file holding the secret, such as /run/secrets/NAME)',
    );
  });

  test('a YAML alias bomb is a config error (exit 2), not an internal error', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      '',
    ].join('\n');
    const result = parseConfig(bomb, { file: 'bootseq.yml', dir: '/tmp', env: {} });
    expect(result.config).toBeUndefined();
    expect(result.issues[0]?.message).toMatch(/^is not valid YAML: .*alias/);
  });

  test.each(['../evil', 'my web', 'wébé', 'Web'])(
    'the name %j is refused saying what a name may contain',
    (name) => {
      const result = parseConfig(`version: 1\nprocesses:\n  ${JSON.stringify(name)}: { command: "true" }\n`, {
        file: 'bootseq.yml',
        dir: '/tmp',
        env: { PATH: '/usr/bin:/bin' },
      });
      expect(result.issues).toContainEqual({
        file: 'bootseq.yml',
        path: 'processes',
        message: `${JSON.stringify(name)} is not a valid name: expected a name of lowercase letters, digits, _ and - (starting with a letter)`,
      });
    },
  );

  test('a 200 KB value loads quickly', () => {
    const start = Date.now();
    const result = parseConfig(
      `version: 1\nprocesses:\n  web: { command: "true ${'x'.repeat(200_000)} postgres://u:p@h/db" }\n`,
      { file: 'bootseq.yml', dir: '/tmp', env: { PATH: '/usr/bin:/bin' } },
    );
    expect(result.issues).toEqual([]);
    expect(Date.now() - start).toBeLessThan(2000);
  });
});
