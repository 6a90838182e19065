import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { splitStatements } from '../../../db/split.js';
import { compareVersions, flyway, flywayChecksum, javaHashCode } from '../../../db/history/flyway.js';
import { rails } from '../../../db/history/rails.js';
import { sqlx } from '../../../db/history/sqlx.js';

const dirs: string[] = [];
function folder(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-unit-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('sqlx file names', () => {
  test('versions, descriptions, reversible pairs, ignored files', () => {
    const { migrations, problems } = sqlx.resolve(
      folder({
        '0001_create_users.sql': 'a',
        '20220721124650_add_table.up.sql': 'b',
        '20220721124650_add_table.down.sql': 'c',
        'README.md': 'x',
        'nounderscore.sql': 'y',
        '2_notes.txt': 'z',
      }),
    );
    expect(problems).toEqual([]);
    expect(migrations.map((m) => [m.version, m.description, m.script])).toEqual([
      ['1', 'create users', '0001_create_users.sql'],
      ['20220721124650', 'add table', '20220721124650_add_table.up.sql'],
    ]);
  });

  test('a version that is not a 64-bit integer is an error, not a skip', () => {
    expect(sqlx.resolve(folder({ 'v1_x.sql': 'a', '99999999999999999999_big.sql': 'b' })).problems).toEqual([
      '99999999999999999999_big.sql: "99999999999999999999" is not a 64-bit integer version (sqlx refuses the folder)',
      'v1_x.sql: "v1" is not a 64-bit integer version (sqlx refuses the folder)',
    ]);
  });

  test('the checksum is SHA-384 of the bytes, CRLF and BOM included', () => {
    expect(sqlx.displayChecksum(Buffer.from('select 1;\n'))).not.toBe(
      sqlx.displayChecksum(Buffer.from('select 1;\r\n')),
    );
    expect(sqlx.displayChecksum(Buffer.from(''))).toBe(
      '38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b',
    );
  });
});

describe('Flyway file names, versions and checksums', () => {
  test('V and R files, recursive, versions spelled as written, descriptions with spaces', () => {
    const { migrations, problems } = flyway.resolve(
      folder({
        'V1_1__first_step.sql': 'a',
        'sub/V0002__second.SQL': 'b',
        'R__views.sql': 'c',
        'U3__undo.sql': 'd',
        'V220__x.sql': 'e',
        'notes.sql': 'f',
      }),
    );
    expect(problems).toEqual([]);
    expect(migrations.map((m) => [m.version, m.description, m.script])).toEqual([
      ['1.1', 'first step', 'V1_1__first_step.sql'],
      ['0002', 'second', 'sub/V0002__second.SQL'],
      ['220', 'x', 'V220__x.sql'],
      [undefined, 'views', 'R__views.sql'],
    ]);
  });

  test('invalid names and equal versions are refused', () => {
    expect(
      flyway.resolve(folder({ 'V1_x__a.sql': 'a', 'V2.sql': 'b', 'V1.0__b.sql': 'c', 'V1__c.sql': 'd' }))
        .problems,
    ).toEqual([
      'V1_x__a.sql: "1.x" is not a Flyway version (numbers separated by . or _)',
      'V2.sql: expected V<version>__<description>.sql (Flyway needs "__")',
      'V1.0__b.sql and V1__c.sql have the same version 1 (Flyway refuses the folder)',
    ]);
  });

  test('version order is numeric with trailing zeros ignored', () => {
    expect(['10', '2', '1.10', '1.9', '1.0.0'].sort(compareVersions)).toEqual([
      '1.0.0',
      '1.9',
      '1.10',
      '2',
      '10',
    ]);
    expect(compareVersions('1.0', '1')).toBe(0);
  });

  test('checksum ignores BOM and line breaks, keeps everything else, empty is 0', () => {
    const lf = flywayChecksum(Buffer.from('a\nb\n'));
    expect(flywayChecksum(Buffer.from('a\r\nb\r\n'))).toBe(lf);
    expect(flywayChecksum(Buffer.from('\uFEFFa\rb'))).toBe(lf);
    expect(flywayChecksum(Buffer.from('a \nb\n'))).not.toBe(lf);
    expect(flywayChecksum(Buffer.from(''))).toBe(0);
    expect(Number.isInteger(lf) && lf >= -(2 ** 31) && lf < 2 ** 31).toBe(true);
  });

  test('the advisory lock key for the default table is the one Flyway uses', () => {
    expect(77431708279161 + javaHashCode('"public"."flyway_schema_history"')).toBe(77433833903597);
  });
});

describe('Rails file names', () => {
  test('version is the integer, leading zeros dropped', () => {
    expect(
      rails
        .resolve(
          folder({
            '0020240101120000_create_posts.sql': 'a',
            '20240102_add_body.queue.sql': 'b',
            'CreatePosts.sql': 'c',
          }),
        )
        .migrations.map((m) => m.version),
    ).toEqual(['20240102', '20240101120000']);
  });
});

describe('splitStatements', () => {
  test('statements with their first line; quotes, comments, triggers and dollar quotes kept whole', () => {
    const sql = [
      '-- header',
      "INSERT INTO t VALUES ('a;b');",
      '',
      'CREATE TRIGGER tr AFTER INSERT ON t BEGIN',
      '  UPDATE t SET x = 1; UPDATE t SET y = CASE WHEN 1 THEN 2 END;',
      'END;',
      '/* ; */ CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;',
      'SELECT 2',
    ].join('\n');
    expect(splitStatements(sql).map((s) => s.line)).toEqual([2, 4, 7, 8]);
    expect(splitStatements(sql)[1]?.text).toMatch(/^CREATE TRIGGER[\s\S]*END$/);
  });
});
