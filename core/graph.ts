// Turns the phases' tasks into one dependency graph: the boot lease first (a sqlite store's chain
// waits for it), a store's tasks in phase order (restore → migrate → seed → verify), a store's
// `after:` waits for the other store's last task, replicate waits for every store, processes wait
// for replicate and for each other. A service (`service:NAME`) is waited on by the tasks that need
// it: by default the first migrate or seed task of each store (else, with nothing to migrate, every
// process), or only the processes whose `after:` names it. Filters by command (`restore`, `migrate`,
// …), store names and `--until`; a service no remaining task needs is left out, so `--until restore`
// waits for none. Knows nothing of what tasks do.

import { UsageError } from './errors.js';
import { PHASES, type Config, type Phase, type PhaseName, type TaskId, type TaskSpec } from './task.js';

export const UNTIL = ['restore', 'migrate', 'seed', 'verify', 'replicate', 'ready'] as const;
export type Until = (typeof UNTIL)[number];

export interface GraphOptions {
  /** Only these phases (a command such as `bootseq verify`); default: all. */
  readonly phases?: readonly PhaseName[];
  /** Stop after this phase (`--until`). */
  readonly until?: Until | undefined;
  /** Only these stores (positional STORE… arguments); default: all. */
  readonly stores?: readonly string[];
}

const STORE_PHASES: readonly PhaseName[] = ['restore', 'migrate', 'seed', 'sync', 'verify'];

export function buildGraph(phases: readonly Phase[], config: Config, options: GraphOptions = {}): TaskSpec[] {
  const storeNames = config.stores.map((s) => s.name);
  for (const name of options.stores ?? []) {
    if (!storeNames.includes(name))
      throw new UsageError(
        `unknown store "${name}" (stores: ${storeNames.join(', ') || 'none'})`,
        'name one of the stores in bootseq.yml, or none for all',
      );
  }
  const lastPhase =
    options.until === undefined
      ? 'start'
      : options.until === 'ready'
        ? 'start'
        : options.until === 'migrate'
          ? 'seed'
          : options.until;
  const lastIndex = PHASES.indexOf(lastPhase);
  const wanted = (phase: PhaseName) =>
    PHASES.indexOf(phase) <= lastIndex && (options.phases?.includes(phase) ?? true);
  const wantedStore = (name: string) =>
    options.stores === undefined || options.stores.length === 0 || options.stores.includes(name);

  const tasks: TaskSpec[] = [];
  for (const phase of phases) {
    if (!wanted(phase.name)) continue;
    for (const task of phase.tasks(config)) {
      if (STORE_PHASES.includes(task.phase) && !wantedStore(task.target)) continue;
      tasks.push(task);
    }
  }
  const serviceIds = new Map(config.services.map((s) => [s.name, `service:${s.name}`]));
  const defaultServices = config.services
    .filter((s) => s.processes.length === 0)
    .map((s) => `service:${s.name}`);
  const migrates = tasks.filter((t) => t.phase === 'migrate' || t.phase === 'seed');
  const starts = tasks.filter((t) => t.phase === 'start');
  // Who waits for each service: what decides whether it runs at all.
  const neededBy = (service: TaskSpec): readonly TaskSpec[] => {
    const s = config.services.find((x) => `service:${x.name}` === service.id);
    if (!s) return [];
    if (s.processes.length > 0) return starts.filter((t) => s.processes.includes(t.target));
    return migrates.length > 0 ? migrates : starts;
  };
  for (let i = tasks.length - 1; i >= 0; i -= 1) {
    const task = tasks[i];
    if (task?.phase === 'service' && neededBy(task).length === 0) tasks.splice(i, 1);
  }
  const ids = new Set(tasks.map((t) => t.id));
  const present = (list: readonly string[]) => list.filter((id) => ids.has(id));

  // A store's chain, and the last task of each store.
  const chain = new Map<string, TaskSpec[]>();
  for (const task of tasks) {
    if (!STORE_PHASES.includes(task.phase)) continue;
    const list = chain.get(task.target) ?? [];
    list.push(task);
    chain.set(task.target, list);
  }
  for (const list of chain.values()) list.sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase));
  const lastOf = (store: string): TaskId | undefined => chain.get(store)?.at(-1)?.id;

  const storeLasts = [...chain.keys()].map(lastOf).filter((id): id is TaskId => id !== undefined);
  const replicateIds = tasks.filter((t) => t.phase === 'replicate').map((t) => t.id);
  const leaseIds = tasks.filter((t) => t.phase === 'lease').map((t) => t.id);
  // What every process waits for besides other processes.
  const startPrerequisites = replicateIds.length > 0 ? replicateIds : storeLasts;

  return tasks.map((task) => {
    const after = new Set(task.after.filter((id) => ids.has(id)));
    if (STORE_PHASES.includes(task.phase)) {
      const list = chain.get(task.target) ?? [];
      const index = list.indexOf(task);
      const previous = list[index - 1];
      const isMigrate = (t: TaskSpec | undefined) => t?.phase === 'migrate' || t?.phase === 'seed';
      // The store's first migrate or seed task waits for the default services; the rest follow it.
      if (isMigrate(task) && !isMigrate(previous)) for (const id of present(defaultServices)) after.add(id);
      if (previous) after.add(previous.id);
      else {
        const store = config.stores.find((s) => s.name === task.target);
        if (store?.kind === 'sqlite') for (const id of leaseIds) after.add(id);
        for (const other of store?.after ?? []) {
          const last = lastOf(other);
          if (last) after.add(last);
        }
      }
    } else if (task.phase === 'replicate') {
      for (const id of storeLasts) after.add(id);
    } else if (task.phase === 'start') {
      for (const id of startPrerequisites) after.add(id);
      const process = config.processes.find((p) => p.name === task.target);
      for (const name of process?.services ?? []) {
        const id = serviceIds.get(name);
        if (id && ids.has(id)) after.add(id);
      }
      // Nothing to migrate: the processes are the first tasks that need the default services.
      if (migrates.length === 0) for (const id of present(defaultServices)) after.add(id);
    } else if (task.phase === 'service') {
      // A service only processes wait for is waited on when they can start (its `wait` counts from
      // there, and a service that never answers does not cut a migration short); a default one from
      // the start of the boot, beside lease and restore.
      const s = config.services.find((x) => `service:${x.name}` === task.id);
      if (s && s.processes.length > 0) for (const id of startPrerequisites) after.add(id);
    }
    return { ...task, run: task.run.bind(task), after: [...after] };
  });
}

/** Tasks in an order where every task comes after what it waits for (for `plan`). */
export function topologicalOrder(tasks: readonly TaskSpec[]): TaskSpec[] {
  const done = new Set<TaskId>();
  const out: TaskSpec[] = [];
  const pending = [...tasks];
  while (pending.length > 0) {
    const index = pending.findIndex((t) => t.after.every((id) => done.has(id)));
    if (index < 0) throw new Error(`cycle among ${pending.map((t) => t.id).join(', ')}`);
    const [task] = pending.splice(index, 1);
    if (!task) break;
    done.add(task.id);
    out.push(task);
  }
  return out;
}
