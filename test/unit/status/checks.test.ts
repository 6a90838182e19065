// The shapes issue 30's checks take in status, /readyz and the run report (entrypoint/status/checks.ts).

import { describe, expect, test } from 'vitest';
import {
  checksReport,
  livenessStatus,
  withRehearsal,
  type RehearsalStatus,
} from '../../../entrypoint/status/checks.js';

const rehearsal = (over: Partial<RehearsalStatus> = {}): RehearsalStatus => ({
  every_ms: 3_600_000,
  state: 'idle',
  next_at: null,
  last_success: null,
  last_failure: null,
  last_duration_ms: null,
  runs_total: 0,
  failures_total: 0,
  last_report: null,
  fails_ready: false,
  ...over,
});

describe('status of the checks', () => {
  test('a liveness view becomes snake_case with ISO times; none is null', () => {
    expect(livenessStatus(undefined)).toBeNull();
    expect(
      livenessStatus({
        process: 'web',
        check: 'http http://127.0.0.1:3000/up every 10s (timeout 5s, 3 failures)',
        state: 'probing',
        consecutiveFailures: 1,
        failuresTotal: 4,
        restartsTotal: 1,
        lastFailure: { atMs: Date.UTC(2026, 11, 5, 1, 0, 0), reason: 'no answer within 5s' },
        lastOkMs: undefined,
      }),
    ).toEqual({
      check: 'http http://127.0.0.1:3000/up every 10s (timeout 5s, 3 failures)',
      state: 'probing',
      consecutive_failures: 1,
      failures_total: 4,
      restarts_total: 1,
      last_failure: { at: '2026-12-05T01:00:00.000Z', reason: 'no answer within 5s' },
      last_ok: null,
    });
  });

  test('fail_ready: a failed last rehearsal is a problem of its own; without fail_ready or after a pass, nothing', () => {
    const healthy = { status: 'healthy' as const, problems: [] as string[] };
    const failure = { at: '2026-12-05T01:00:00.000Z', reason: 'verify:queue failed' };
    expect(withRehearsal(healthy, null)).toBe(healthy);
    expect(withRehearsal(healthy, rehearsal({ last_failure: failure }))).toBe(healthy);
    expect(withRehearsal(healthy, rehearsal({ last_failure: failure, fails_ready: true }))).toEqual({
      status: 'degraded',
      problems: [
        'the last restore rehearsal failed (verify:queue failed); rehearse.fail_ready holds /readyz until one passes',
      ],
    });
  });

  test('the run report gets a checks section only when something is checked', () => {
    const none = { processes: [{ name: 'web', liveness: null }], health: { heartbeat: null } };
    expect(checksReport(none)).toBeUndefined();
    expect(checksReport({ ...none, rehearsal: rehearsal() })).toEqual({
      liveness: [],
      heartbeat: null,
      rehearsal: rehearsal(),
    });
  });
});
