// README.md's config reference is generated from the schema; this fails when the two drift apart.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
// @ts-expect-error -- a plain .mjs repo script without types
import { currentReference, referenceRows, renderReference } from '../../../scripts/config-reference.mjs';
import { configSchema } from '../../../config/schema.js';

const README = path.resolve(import.meta.dirname, '../../../README.md');

describe('README config reference', () => {
  test('matches the schema (run `node scripts/config-reference.mjs --write` after changing it)', async () => {
    const readme = fs.readFileSync(README, 'utf8');
    const current = (currentReference as (text: string) => string | undefined)(readme);
    expect(current, 'README.md has no config-reference block').toBeDefined();
    const fresh = await (renderReference as () => Promise<string>)();
    // prettier may realign the table; compare the cells, not the padding
    const cells = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('| `'))
        .map((l) =>
          l
            .split('|')
            .map((c) => c.trim())
            .join('|'),
        );
    expect(cells(current!)).toEqual(cells(fresh));
  });

  test('lists every key of the schema', () => {
    const keys = (referenceRows as (s: unknown) => { key: string }[])(configSchema).map((r) => r.key);
    for (const key of [
      'version',
      'litestream.config',
      'stores.NAME.migrate.history',
      'processes.NAME.ready.timeout',
      'shutdown.replication_grace',
      'backup.keep',
    ]) {
      expect(keys).toContain(key);
    }
  });
});
