// `npm run test:mutate`: breaks one behaviour at a time in a scratch copy of the repository, rebuilds,
// runs the tests that should notice, and prints caught or survived. A survivor is a behaviour no test
// guards. Run by hand (minutes, not CI). `node scripts/mutate.mjs NAME…` runs only those mutations.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** name → the file, the exact text to replace, its replacement, and the tests that must fail. */
const MUTATIONS = [
  {
    name: 'quick_check always passes',
    file: 'phases/verify/gates.ts',
    from: "gate('quick_check', check.length === 1 && check[0] === 'ok',",
    to: "gate('quick_check', true,",
    tests: ['test/integration/gate-failure.test.ts'],
  },
  {
    name: 'http readiness accepts any status',
    file: 'phases/start/readiness.ts',
    from: 'resolve(status >= 200 && status < 300 ? undefined',
    to: 'resolve(status >= 0 ? undefined',
    tests: ['test/integration/readiness-and-secrets.test.ts'],
  },
  {
    name: 'SQLite migrator takes a deferred BEGIN',
    file: 'db/sqlite.ts',
    from: "db.exec(sql === 'BEGIN' ? 'BEGIN IMMEDIATE' : sql);",
    to: 'db.exec(sql);',
    tests: ['test/integration/migrate-builtin.test.ts'],
  },
  {
    name: 'URL passwords not redacted',
    file: 'config/secrets.ts',
    from: 'const spans = urlPasswordSpans(text);\n  if (spans.length === 0) return text;',
    to: 'const spans = urlPasswordSpans(text);\n  if (spans.length >= 0) return text;',
    tests: ['test/integration/readiness-and-secrets.test.ts', 'test/unit/config/hardening.test.ts'],
  },
  {
    name: 'secret files trimmed of CR/LF only, not spaces and tabs',
    file: 'config/secrets.ts',
    from: "text.replace(/[\\s\\r\\n]+$/u, '')",
    to: "text.replace(/[\\r\\n]+$/u, '')",
    tests: ['test/unit/config/load.test.ts'],
  },
  {
    name: 'Litestream stopped before the app at shutdown',
    file: 'core/supervisor/shutdown.ts',
    from: "    ...kept.filter((k) => k.role === 'process').reverse(),\n    ...kept.filter((k) => k.role === 'replication'),",
    to: "    ...kept.filter((k) => k.role === 'replication'),\n    ...kept.filter((k) => k.role === 'process').reverse(),",
    tests: ['test/unit/core/supervisor.test.ts', 'test/races/zero-loss.test.ts'],
  },
  {
    name: 'a litestream restore failure swallowed',
    file: 'phases/restore/sqlite.ts',
    from: '  await ctx.run({',
    to: '  await (async (spec: Parameters<typeof ctx.run>[0]) => ctx.run(spec).catch(() => undefined))({',
    tests: ['test/integration/restore-failures.test.ts'],
  },
  {
    name: 'sqlx checksum recorded as SHA-256',
    file: 'db/history/sqlx.ts',
    from: "checksum: createHash('sha384').update(bytes).digest(),",
    to: "checksum: createHash('sha256').update(bytes).digest(),",
    tests: ['test/integration/migrate-builtin.test.ts'],
  },
  {
    name: 'no replication lease: a second bootseq starts its own Litestream',
    file: 'phases/replicate/lease.ts',
    from: '  const taken: LeaseFile[] = [];',
    to: '  if (lease.files.length > 0) return undefined;\n  const taken: LeaseFile[] = [];',
    tests: ['test/races/rolling-deploy.test.ts'],
  },
  {
    name: 'stalls never reported',
    file: 'phases/replicate/progress.ts',
    from: 'if (lagMs >= options.stallTimeoutMs) {',
    to: 'if (lagMs < 0) {',
    tests: ['test/unit/phases/replicate-progress.test.ts'],
  },
  {
    name: 'readiness deadline through AbortSignal.any (collected under GC, never fires)',
    file: 'phases/start/deadline.ts',
    from: 'export function withDeadline(signal: AbortSignal, ms: number): Deadline {',
    to: 'export function withDeadline(signal: AbortSignal, ms: number): Deadline {\n  if (ms > 0) return { signal: AbortSignal.any([signal, AbortSignal.timeout(ms)]), dispose() {} };',
    tests: ['test/unit/phases/start-deadline.test.ts'],
  },
  {
    name: '/readyz ignores replication lag',
    file: 'entrypoint/status/live.ts',
    from: 'if (store.lag_ms !== null && store.lag_ms > maxLagMs)',
    to: 'if (store.lag_ms !== null && store.lag_ms < 0)',
    tests: ['test/integration/status-health.test.ts', 'test/unit/status/live.test.ts'],
  },
  {
    name: "Litestream's per-sync lines relayed",
    file: 'phases/replicate/lines.ts',
    from: "return line.level === 'INFO' && line.msg !== undefined && ROUTINE.has(line.msg);",
    to: 'return line.level === "never";',
    tests: ['test/integration/terminal.test.ts'],
  },
  {
    name: 'a change file accepted whatever its hash',
    file: 'db/sync/format.ts',
    from: "if (actual !== String(m['sha256']).toLowerCase())",
    to: 'if (actual === "never")',
    tests: ['test/integration/sync.test.ts', 'test/unit/db/sync-format.test.ts'],
  },
  {
    name: 'an applied transaction applied again',
    file: 'db/sync/import.ts',
    from: 'return row !== undefined && row.max_lsn >= Math.max(...tx.entries.map((e) => e.lsn));',
    to: 'return row !== undefined && row.max_lsn < 0;',
    tests: ['test/integration/sync.test.ts'],
  },
  {
    name: 'the replication lease released when the stop begins, before the final sync',
    file: 'phases/replicate/index.ts',
    from: '    beforeStop: () => session.monitor.markStop(),',
    to: '    beforeStop: () => {\n      session.monitor.markStop();\n      releaseReplication(session.lease);\n    },',
    tests: ['test/integration/replication-truth.test.ts'],
  },
  {
    name: 'a takeover accepted on a write of another generation',
    file: 'phases/replicate/takeover.ts',
    from: 'if (byReplica?.get(replica)?.has(state.generation)) state.written.add(replica);',
    to: 'if (byReplica?.get(replica)?.size) state.written.add(replica);',
    tests: ['test/unit/phases/replicate-takeover.test.ts'],
  },
  {
    name: 'the lag cleared only by a look, not by the line that says the replica has it',
    file: 'phases/replicate/progress.ts',
    from: '      settle(store, line.replica);\n',
    to: '',
    tests: ['test/unit/phases/replicate-progress.test.ts'],
  },
  {
    name: 'a stall alarm while no Litestream is watched (bootseq restarting it)',
    file: 'phases/replicate/progress.ts',
    from: 'const lagMs = watchedSinceMs === undefined ? 0 : Math.min(trueLagMs, at - watchedSinceMs);',
    to: 'const lagMs = trueLagMs;',
    tests: ['test/unit/phases/replicate-progress.test.ts'],
  },
  {
    name: 'database paths not resolved through symlinks',
    file: 'config/stores.ts',
    from: 'const location = ctx.disk.realpath?.(written) ?? written;',
    to: 'const location = written;',
    tests: ['test/integration/replication-truth.test.ts'],
  },
  {
    name: '/readyz ignores Litestream down',
    file: 'entrypoint/status/live.ts',
    from: "if (s.litestream && !s.litestream.up && s.lease?.role !== 'waiting')",
    to: 'if (s.litestream && !s.litestream.up && s.litestream.up)',
    tests: ['test/integration/status-health.test.ts'],
  },
  {
    name: 'the Litestream version not checked',
    file: 'config/replication.ts',
    from: "if (!/^v?0\\.3\\.\\d+/.test(version ?? ''))",
    to: "if (!/^v?0\\.[35]\\.\\d+/.test(version ?? ''))",
    tests: ['test/integration/cli-config-errors.test.ts'],
  },
];

function scratchCopy() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-mutate-'));
  for (const entry of fs.readdirSync(REPO)) {
    if (['node_modules', 'dist', '.git', '.demo', '.bootseq'].includes(entry)) continue;
    fs.cpSync(path.join(REPO, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** Builds the mutated copy and runs the tests: caught when they fail (or it no longer builds). */
function runTests(dir, tests) {
  try {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: dir, stdio: 'ignore' });
  } catch {
    return 'caught (it no longer builds)';
  }
  const run = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...tests], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  return run.status === 0 ? 'SURVIVED' : 'caught';
}

const only = process.argv.slice(2);
const chosen = only.length ? MUTATIONS.filter((m) => only.some((o) => m.name.includes(o))) : MUTATIONS;
const results = [];
for (const m of chosen) {
  const dir = scratchCopy();
  try {
    const file = path.join(dir, m.file);
    const text = fs.readFileSync(file, 'utf8');
    if (!text.includes(m.from)) {
      results.push({ name: m.name, result: 'NOT APPLIED (the source changed: update the mutation)' });
    } else {
      fs.writeFileSync(file, text.replace(m.from, m.to));
      results.push({ name: m.name, result: runTests(dir, m.tests) });
    }
  } catch (error) {
    results.push({ name: m.name, result: `caught (does not build: ${String(error).split('\n')[0]})` });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const last = results.at(-1);
  console.log(`${last.result.padEnd(9)} ${last.name}`);
}
const survived = results.filter((r) => r.result !== 'caught' && !r.result.startsWith('caught'));
console.log(`\n${results.length - survived.length} of ${results.length} mutations caught`);
process.exitCode = survived.length === 0 ? 0 : 1;
