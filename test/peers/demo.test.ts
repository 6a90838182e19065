// The demo as shipped (README's `npm run demo`): after bootseq migrates it, sqlx-cli accepts the primary
// store's history and Flyway the queue store's, as the apps of those stores would at startup.

import { expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { peerTool, runTool } from '../helpers/peers.js';

test('the demo migrated by bootseq: sqlx-cli accepts primary, Flyway accepts queue', async ({ project }) => {
  const migrated = await project.run(['migrate']);
  expect(migrated.exitCode, migrated.output).toBe(0);

  const primary = `sqlite://${project.path('.demo/storage/primary.sqlite3')}`;
  const info = await runTool(
    peerTool('sqlx'),
    ['migrate', 'info', '--source', 'examples/demo/db/primary', '--database-url', primary],
    { cwd: project.dir },
  );
  expect(info.code, info.output).toBe(0);
  expect(info.stdout.split('\n').filter((l) => /^\d+\//.test(l))).toEqual([
    '20260101000001/installed create notes',
    '20260101000002/installed index notes created at',
  ]);
  const run = await runTool(
    peerTool('sqlx'),
    ['migrate', 'run', '--source', 'examples/demo/db/primary', '--database-url', primary],
    { cwd: project.dir },
  );
  expect(run.code, run.output).toBe(0);
  expect(run.output).not.toMatch(/Applied/);

  const validate = await runTool(peerTool('flyway'), [
    'validate',
    `-url=jdbc:sqlite:${project.path('.demo/storage/queue.sqlite3')}`,
    `-locations=filesystem:${project.path('examples/demo/db/queue')}`,
  ]);
  expect(validate.code, validate.output).toBe(0);
  expect(validate.stdout.trim()).toBe('{"valid":true,"errors":[]}');
});
