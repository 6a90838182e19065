// The status snapshot for a person: a few lines and small tables to read at a glance.

import { configDuration, elapsed } from '../../core/format.js';
import type { StatusSnapshot } from './live.js';

export function renderStatus(s: StatusSnapshot, now = Date.now()): string {
  const lines: string[] = [];
  const verdict = s.health.status === 'healthy' ? 'healthy' : 'DEGRADED';
  const boot =
    s.boot.state === 'ready' && s.boot.ready_at
      ? `ready since ${clock(s.boot.ready_at)} (boot took ${elapsed(s.boot.duration_ms)})`
      : s.boot.state === 'booting'
        ? `booting for ${elapsed(s.boot.duration_ms)}${s.boot.running.length ? `: ${s.boot.running.join(', ')}` : ''}`
        : s.boot.state;
  lines.push(
    `bootseq ${s.bootseq.version} (pid ${s.bootseq.pid}) · ${s.bootseq.command} · ${boot} · ${verdict}`,
  );
  for (const problem of s.health.problems) lines.push(`  ✗ ${problem}`);
  for (const warning of s.health.warnings)
    lines.push(`  ! ${warning} (not failing: health.ready_requires_replication is off)`);
  lines.push('');
  if (s.processes.length > 0)
    lines.push(
      ...table(
        ['PROCESS', 'PID', 'READY', 'RESTARTS', 'UPTIME'],
        s.processes.map((p) => [
          p.name,
          pid(p.pid),
          p.ready ? 'yes' : 'no',
          String(p.restarts),
          uptime(p.uptime_ms),
        ]),
      ),
      '',
    );
  lines.push(...checkLines(s, now));
  if (s.litestream) {
    const l = s.litestream;
    const lease =
      s.lease?.role === 'waiting'
        ? `waiting for the replication lease (held by ${s.lease.holder ?? 'another bootseq'})`
        : '';
    lines.push(
      ...table(
        ['LITESTREAM', 'PID', 'UP', 'RESTARTS', 'UPTIME'],
        [
          [
            'litestream',
            pid(l.pid),
            l.up ? 'yes' : lease ? 'elsewhere' : 'no',
            String(l.restarts),
            uptime(l.uptime_ms),
          ],
        ],
      ),
    );
    if (lease) lines.push(lease);
    lines.push('');
  }
  if (s.stores.length > 0)
    lines.push(
      ...table(
        ['STORE', 'KIND', 'GENERATION', 'LAST SYNC', 'LAG', 'RESTORABLE'],
        s.stores.map((st) => [
          st.name,
          st.kind,
          st.generation ?? '-',
          st.last_sync ? `${clock(st.last_sync)} (${elapsed(now - Date.parse(st.last_sync))} ago)` : '-',
          st.lag_ms === null ? '-' : st.lag_ms === 0 ? '0 (caught up)' : elapsed(st.lag_ms),
          restorable(st),
        ]),
      ),
      '',
    );
  if (s.health_url) lines.push(`health: ${s.health_url}/readyz · metrics: ${s.health_url}/metrics`);
  return lines.join('\n').trimEnd();
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function pid(p: number | null): string {
  return p === null ? '-' : String(p);
}

function uptime(ms: number | null): string {
  return ms === null ? '-' : elapsed(ms);
}

function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString('en-GB', { hour12: false });
}

/** `yes`, `-` (not checked yet), or `NO: file (its snapshot is gone)`. */
function restorable(st: StatusSnapshot['stores'][number]): string {
  if (st.restorable === null) return '-';
  if (st.restorable) return 'yes';
  const broken = st.replicas.filter((r) => r.restorable === false);
  return `NO: ${broken.map((r) => `${r.name} (${r.reason ?? 'no snapshot'})`).join(', ')}`;
}

/** Liveness checks and the heartbeat (issue 30): one line each, after the process table. */
function checkLines(s: StatusSnapshot, now: number): string[] {
  const lines: string[] = [];
  for (const p of s.processes) {
    const l = p.liveness;
    if (!l) continue;
    const counts = `${l.failures_total} failed check${l.failures_total === 1 ? '' : 's'}, ${l.restarts_total} restart${l.restarts_total === 1 ? '' : 's'} for it`;
    const now_ =
      l.state === 'waiting-ready'
        ? 'waiting for its ready check after a restart'
        : l.consecutive_failures > 0
          ? `FAILING (${l.consecutive_failures} in a row)`
          : 'ok';
    const last = l.last_failure
      ? ` · last failure ${clock(l.last_failure.at)}: ${l.last_failure.reason}`
      : '';
    lines.push(`liveness ${p.name}: ${now_} · ${l.check} · ${counts}${last}`);
  }
  const b = s.health.heartbeat;
  if (b) {
    const last = b.last_success
      ? `last success ${clock(b.last_success)} (${elapsed(now - Date.parse(b.last_success))} ago)`
      : 'no success yet';
    const state = b.state === 'paused' ? 'PAUSED while not ready' : 'beating';
    const failing =
      b.consecutive_failures > 0 && b.last_failure
        ? ` · FAILING (${b.consecutive_failures} in a row): ${b.last_failure.reason}`
        : '';
    lines.push(`heartbeat: ${state} · ${b.url} every ${configDuration(b.every_ms)} · ${last}${failing}`);
  }
  const r = s.rehearsal;
  if (r) {
    const last = r.last_success ? `last passed ${clock(r.last_success)}` : 'none passed yet';
    const failed =
      r.last_failure && (!r.last_success || r.last_failure.at > r.last_success)
        ? ` · LAST FAILED ${clock(r.last_failure.at)}: ${r.last_failure.reason}`
        : '';
    const state = r.state === 'running' ? 'running now' : r.next_at ? `next ${clock(r.next_at)}` : 'idle';
    lines.push(`rehearsal: every ${configDuration(r.every_ms)} · ${state} · ${last}${failed}`);
  }
  return lines.length > 0 ? [...lines, ''] : [];
}
