// Concurrent migrators on a database that already has tables: eight `bootseq migrate` at once, each with
// a config of its own, three rounds in a row, as who takes the boot lease first is a race. With the
// races (`npm run test:races`); test/integration/migrate-builtin.test.ts has the rest of the migrator.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { APP_LITESTREAM, configFor, sqliteRows, sqliteStore } from '../helpers/builtin.js';
import { test } from '../helpers/fixtures.js';
import { processesIn, type TmpProject } from '../helpers/project.js';

describe('concurrent migrators on a database that already has tables (each with a config of its own)', () => {
  // Eight configs (once told apart by `lease.dir`, which no longer moves the lease): the boot lease
  // beside the database serializes them whatever each config says, and only the one that applies a
  // change may back it up. Slow migrations (tens of thousands of rows); three rounds.
  test(
    '8 at once, three times: every migration once, one backup per round, no error',
    { timeout: 300_000 },
    async ({ project }) => {
      const configs: Record<string, string> = {};
      for (let n = 0; n < 8; n += 1)
        configs[`bootseq-${n}.yml`] = configFor(
          sqliteStore,
          '{ dir: db/migrations, history: flyway }',
          `shutdown: { grace: ${n + 10}s }\n`,
        );
      project.write({
        'litestream.yml': APP_LITESTREAM,
        ...configs,
        'db/migrations/V1__base.sql': 'CREATE TABLE log (step INT, n INT);\n',
      });
      fs.mkdirSync(project.path('data'));
      expect((await project.run(['migrate', '--config', 'bootseq-0.yml'])).exitCode).toBe(0);
      const problems: string[] = [];
      for (let round = 1; round <= 3; round += 1) {
        const version = round + 1;
        project.write({
          [`db/migrations/V${version}__rows_${round}.sql`]: `CREATE TABLE rows_${round} (x INT);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)\nINSERT INTO rows_${round} SELECT i FROM n;\nINSERT INTO log VALUES (${version}, (SELECT count(*) FROM rows_${round}));\n`,
        });
        const before = backupCount(project);
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, n) =>
            project.run(['migrate', '--config', `bootseq-${n}.yml`, '--log-format', 'json']),
          ),
        );
        for (const [n, r] of results.entries())
          if (r.exitCode !== 0)
            problems.push(`round ${round}, migrator ${n}: exit ${r.exitCode}: ${r.output.slice(-800)}`);
        const applied = results.reduce((k, r) => k + (r.output.match(/"applied V\d+__/g) ?? []).length, 0);
        if (applied !== 1) problems.push(`round ${round}: V${version} applied ${applied} times`);
        const backups = backupCount(project);
        if (backups !== Math.min(before + 1, 3))
          problems.push(`round ${round}: ${backups} backups (had ${before})`);
      }
      expect(problems).toEqual([]);
      const log = sqliteRows<{ step: number; n: number }>(project, 'SELECT step, n FROM log ORDER BY step');
      expect(log.map((r) => [Number(r.step), Number(r.n)])).toEqual(
        Array.from({ length: 3 }, (_, i) => [i + 2, 30000]),
      );
      expect(
        Number(sqliteRows<{ n: number }>(project, 'SELECT count(*) AS n FROM flyway_schema_history')[0]?.n),
      ).toBe(4);
      expect(processesIn(project.dir)).toEqual([]);
    },
  );
});

function backupCount(project: TmpProject): number {
  const dir = project.path('.bootseq/runs/backups/app');
  return fs.existsSync(dir) ? fs.readdirSync(dir).length : 0;
}
