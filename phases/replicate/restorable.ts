// What the replicate phase does about a replica that can no longer be restored (docs/litestream.md Q12;
// the check itself is snapshots.ts): an error line naming the store and replica, the state in status,
// /readyz and /metrics until a check finds it restorable again, and Litestream restarted in a new
// generation (the stop goes through the supervisor's restart, as a stall's does: bounded, and the new
// process must prove its takeover). At shutdown the check runs once more after Litestream's final sync,
// and a replica that cannot be restored makes the run fail, whatever the final sync shipped.

import type { Config, LitestreamConfig } from '../../config/schema.js';
import type { Child, StopCheck, TaskContext } from '../../core/task.js';
import {
  createSnapshotChecker,
  describeFinding,
  litestreamLister,
  type CheckTarget,
  type Finding,
} from './snapshots.js';
import type { LitestreamDriver, LitestreamLine } from '../../db/litestream/index.js';

/** ` (generation 5f2e…)` where the version has lineages (v0.3), else nothing. */
function lineageIn(driver: LitestreamDriver, lineage: string): string {
  const words = driver.describeLineage(lineage);
  return words === undefined ? '' : ` (${words})`;
}

/** `litestream …` listings through the task's own `start`, with the environment the driver needs. */
function listerFor(
  ctx: TaskContext,
  config: Config & { litestream: LitestreamConfig },
  driver: LitestreamDriver,
) {
  const env = driver.environment({ ...process.env, ...config.env });
  return litestreamLister(
    (spec) => ctx.start({ ...spec, env }),
    config.litestream.bin,
    config.litestream.run.configPath,
  );
}

export function createRestorabilityCheck(
  ctx: TaskContext,
  config: Config & { litestream: LitestreamConfig },
  driver: LitestreamDriver,
  targets: readonly CheckTarget[],
  current: () => Child | undefined,
) {
  const { litestream } = config;
  // Litestream is asked about a database by the path litestream.yml gives it.
  const listPaths = new Map(
    config.stores.flatMap((s) => (s.kind === 'sqlite' ? [[s.name, s.litestream.path] as const] : [])),
  );
  const listed = targets.map((t) => ({ ...t, listPath: listPaths.get(t.store) ?? t.dbPath }));
  const checker = createSnapshotChecker(listed, {
    driver,
    intervalMs: litestream.snapshotCheckMs,
    list: listerFor(ctx, config, driver),
    isActive: () => current() !== undefined,
    onUnrestorable: (findings) => {
      for (const f of findings)
        ctx.note(
          'error',
          describeFinding(f),
          `bootseq restarts litestream so that it starts over with a new snapshot; if it happens again, find what deletes files in the replica of ${f.store}`,
        );
      checker.renewLater(findings);
      const child = current();
      if (!child) return;
      const stores = [...new Set(findings.map((f) => f.store))].join(', ');
      ctx.note(
        'error',
        `litestream (pid ${child.pid}) keeps writing to a replica that cannot be restored: stopping it so that it is restarted with a new snapshot of ${stores}`,
      );
      void child.stop(config.shutdown.replicationGraceMs);
    },
    onUnknown: (store, replica, why) =>
      ctx.note(
        'warn',
        `cannot tell whether the replica "${replica}" of ${store} can be restored: ${why}`,
        `bootseq asks again every ${litestream.snapshotCheckMs / 1000} s; run \`${driver.checkCommand(litestream.run.configPath, listPaths.get(store) ?? store)}\` to see what litestream says`,
      ),
    onRestorable: (store, replica, generation) =>
      ctx.note(
        'info',
        `the replica "${replica}" of ${store} can be restored again${lineageIn(driver, generation)}`,
      ),
  });

  /** The stores whose lineage was renewed by removing a file (v0.3's generation file; v0.5 has none). */
  const renewGenerations = (): string[] =>
    checker.renewGenerations().flatMap(({ store, file }) => {
      if (!file) return [];
      ctx.note(
        'info',
        `removed ${file}: the next litestream begins a new generation of ${store} (docs/litestream.md Q12)`,
      );
      return [store];
    });

  return {
    observe: (line: LitestreamLine) => checker.observe(line),
    watching: () => checker.watching(),
    views: (store: string) => checker.views(store),
    /** Before a Litestream starts: the stores found unrestorable get a new generation. */
    renewGenerations,
    /**
     * After Litestream stopped at shutdown: the progress verdict, failed when a replica cannot restore
     * its store's current generation. Such a store's `generation` file is removed, so that whichever
     * Litestream runs next on the file starts a new generation.
     */
    async judgeAtStop(verdict: StopCheck): Promise<StopCheck> {
      const findings = await checker.final();
      if (findings.length === 0) return verdict;
      checker.renewLater(findings);
      const renewed = renewGenerations();
      return withRestorability(verdict, findings, renewed);
    },
  };
}

export type RestorabilityCheck = ReturnType<typeof createRestorabilityCheck>;

/** A stop verdict that also says which replicas cannot be restored (a failure even when all shipped). */
export function withRestorability(
  verdict: StopCheck,
  findings: readonly Finding[],
  renewed: readonly string[],
): StopCheck {
  if (findings.length === 0) return verdict;
  const what = findings.map(describeFinding).join('; ');
  const stores = [...new Set(findings.map((f) => f.store))].join(', ');
  const hint = `start bootseq again: litestream then starts over with a new snapshot of ${stores}${renewed.length > 0 ? ' (bootseq removed its generation file)' : ''}, and bootseq checks that it can be restored; until then this replica cannot restore ${stores}, so keep the database file${findings.length > 1 ? 's' : ''}`;
  if (verdict.ok) return { ok: false, problem: `replication did not complete at shutdown: ${what}`, hint };
  return { ok: false, problem: `${verdict.problem}; and ${what}`, hint: `${verdict.hint}; then ${hint}` };
}
