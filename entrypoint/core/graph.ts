// Turns the phases' tasks into one dependency graph: the boot lease first (a sqlite store's chain
// waits for it), a store's tasks in phase order (restore → migrate → seed → verify), a store's
// `after:` waits for the other store's last task, replicate waits for every store, processes wait
// for replicate and for each other. Filters by
// command (`restore`, `migrate`, …), store names and `--until`. Knows nothing of what tasks do.

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
  const ids = new Set(tasks.map((t) => t.id));

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

  return tasks.map((task) => {
    const after = new Set(task.after.filter((id) => ids.has(id)));
    if (STORE_PHASES.includes(task.phase)) {
      const list = chain.get(task.target) ?? [];
      const index = list.indexOf(task);
      const previous = list[index - 1];
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
      if (replicateIds.length > 0) for (const id of replicateIds) after.add(id);
      else for (const id of storeLasts) after.add(id);
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
