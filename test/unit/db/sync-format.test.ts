// The change file: what writeChangeFile writes parses back; every way a file can be wrong is refused
// whole, with the reason an operator reads in inbox/rejected/<file>.reason.

import { describe, expect, test } from 'vitest';
import { parseChangeFile, writeChangeFile, type Entry } from '../../../db/sync/format.js';

const entry = (lsn: number, extra: Partial<Entry> = {}): Entry => ({
  lsn,
  tx_id: `tx-${lsn}`,
  table_name: 'items',
  pk_json: `{"id":${lsn}}`,
  op: 'I',
  payload: `{"id":${lsn},"name":"n${lsn}"}`,
  tombstone: 0,
  created_at: '2026-01-01T10:00:00.000Z',
  source_node: 'a',
  hlc_ms: Date.UTC(2026, 0, 1, 10),
  hlc_counter: lsn,
  ...extra,
});

const meta = {
  source_node: 'a',
  source_role: 'client' as const,
  client_id: 'a',
  to: 'hq',
  from_lsn: 0,
  to_lsn: 2,
  created_at: '2026-01-01T10:00:00.000Z',
};
const good = writeChangeFile(meta, [entry(1), entry(2)]);

describe('the change file', () => {
  test('round trip: the header carries count and sha256 of every byte after the first line', () => {
    const parsed = parseChangeFile(good);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.meta).toMatchObject({ source_node: 'a', client_id: 'a', from_lsn: 0, to_lsn: 2, count: 2 });
    expect(parsed.meta.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(parsed.entries.map((e) => e.entry.lsn)).toEqual([1, 2]);
    expect(good.split('\n')[0]).toMatch(/^\{"__meta__":\{/);
  });

  test.each([
    ['no newline at all', '{"__meta__":{}}', /no header line/],
    [
      'a first line that is not JSON',
      `{"__meta__": \n${good.split('\n').slice(1).join('\n')}`,
      /first line is not JSON/,
    ],
    ['no __meta__', `{"meta": {}}\n`, /no "__meta__" object/],
    ['a missing field', good.replace('"client_id":"a",', ''), /__meta__\.client_id is missing/],
    [
      'a changed byte',
      good.replace('"name\\":\\"n2\\"', '"name\\":\\"n3\\"'),
      /does not match __meta__\.sha256/,
    ],
    ['a cut-off file', good.slice(0, -10), /does not match __meta__\.sha256/],
  ])('%s is refused', (_name, text, reason) => {
    const parsed = parseChangeFile(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  test('a wrong count or a malformed entry (with a correct hash) is refused naming the line', () => {
    const count = writeChangeFile(meta, [entry(1)]).replace('"count":1', '"count":2');
    expect(parseChangeFile(count)).toEqual({
      ok: false,
      reason: '__meta__.count is 2 but the file holds 1 changes',
    });
    const bad = writeChangeFile(meta, [entry(1), { ...entry(2), op: 'X' as 'I' }]);
    expect(parseChangeFile(bad)).toEqual({
      ok: false,
      reason: 'change 2 (line 3): op is "X" (expected I, U or D)',
    });
    const time = writeChangeFile(meta, [{ ...entry(1), created_at: 'yesterday' }]);
    expect(parseChangeFile(time)).toMatchObject({
      ok: false,
      reason: 'change 1 (line 2): created_at is "yesterday" (expected an ISO-8601 UTC time that exists)',
    });
  });
});
