// Turns the phases' tasks into one dependency graph: the boot lease first (a sqlite store's chain
// waits for it), a store's tasks in phase order (restore → migrate → seed → verify), a store's
// `after:` waits for the other store's last task, replicate waits for every store, processes wait
// for replicate and for each other. A service (`service:NAME`) is waited on by the tasks that need
// it: by default the first migrate or seed task of each store (else, with nothing to migrate, every
// process), or only the processes whose `after:` names it. Filters by command (`restore`, `migrate`,
// …), store names and `--until`; a service no remaining task needs is left out, so `--until restore`
// waits for none. Knows nothing of what tasks do.

import { UsageError } from './errors.js';
import {
  PHASES,
  taskId,
  type Config,
  type Phase,
  type PhaseName,
  type TaskId,
  type TaskSpec,
} from './task.js';

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
  checkStoreNames(config, options.stores);
  const tasks = withoutUnneededServices(selectTasks(phases, config, options), config);
  const wiring = wiringOf(tasks, config);
  return tasks.map((task) => ({
    ...task,
    run: task.run.bind(task),
    after: [...waitsOf(task, wiring, config)],
  }));
}

/** Positional STORE… arguments name stores of bootseq.yml, or the command is refused (exit 2). */
function checkStoreNames(config: Config, names: readonly string[] = []): void {
  const storeNames = config.stores.map((s) => s.name);
  for (const name of names) {
    if (!storeNames.includes(name))
      throw new UsageError(
        `unknown store "${name}" (stores: ${storeNames.join(', ') || 'none'})`,
        'name one of the stores in bootseq.yml, or none for all',
      );
  }
}

/** The tasks of the phases the command runs, up to `--until`, of the stores it names. */
function selectTasks(phases: readonly Phase[], config: Config, options: GraphOptions): TaskSpec[] {
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
  return tasks;
}

const isMigrate = (t: TaskSpec | undefined) => t?.phase === 'migrate' || t?.phase === 'seed';

/** The `services:` entry a service task waits for. */
function serviceOf(task: TaskSpec, config: Config) {
  return config.services.find((s) => s.name === task.target);
}

/** A service is left out when no remaining task would wait for it (`--until restore` waits for none). */
function withoutUnneededServices(tasks: readonly TaskSpec[], config: Config): TaskSpec[] {
  const migrates = tasks.filter(isMigrate);
  const starts = tasks.filter((t) => t.phase === 'start');
  // Who waits for each service: what decides whether it runs at all.
  const neededBy = (service: TaskSpec): readonly TaskSpec[] => {
    const s = serviceOf(service, config);
    if (!s) return [];
    if (s.processes.length > 0) return starts.filter((t) => s.processes.includes(t.target));
    return migrates.length > 0 ? migrates : starts;
  };
  return tasks.filter((task) => task.phase !== 'service' || neededBy(task).length > 0);
}

/** What the edges are drawn from: the tasks present, each store's chain, what processes wait for. */
interface Wiring {
  readonly ids: ReadonlySet<TaskId>;
  /** Each store's tasks, in phase order. */
  readonly chain: ReadonlyMap<string, readonly TaskSpec[]>;
  /** The last task of every store: what replicate waits for. */
  readonly storeLasts: readonly TaskId[];
  readonly leaseIds: readonly TaskId[];
  /** What every process waits for besides other processes and its services. */
  readonly startPrerequisites: readonly TaskId[];
  /** The services nobody names in `after:`, present in the graph: the first migrate or seed waits for them. */
  readonly defaultServices: readonly TaskId[];
  readonly hasMigrates: boolean;
}

function wiringOf(tasks: readonly TaskSpec[], config: Config): Wiring {
  const ids = new Set(tasks.map((t) => t.id));
  const chain = new Map<string, TaskSpec[]>();
  for (const task of tasks) {
    if (!STORE_PHASES.includes(task.phase)) continue;
    const list = chain.get(task.target) ?? [];
    list.push(task);
    chain.set(task.target, list);
  }
  for (const list of chain.values()) list.sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase));
  const storeLasts = [...chain.keys()]
    .map((store) => lastOf(chain, store))
    .filter((id): id is TaskId => id !== undefined);
  const replicateIds = tasks.filter((t) => t.phase === 'replicate').map((t) => t.id);
  return {
    ids,
    chain,
    storeLasts,
    leaseIds: tasks.filter((t) => t.phase === 'lease').map((t) => t.id),
    startPrerequisites: replicateIds.length > 0 ? replicateIds : storeLasts,
    defaultServices: config.services
      .filter((s) => s.processes.length === 0)
      .map((s) => taskId('service', s.name))
      .filter((id) => ids.has(id)),
    hasMigrates: tasks.some(isMigrate),
  };
}

function lastOf(chain: Wiring['chain'], store: string): TaskId | undefined {
  return chain.get(store)?.at(-1)?.id;
}

/** Everything `task` waits for: its own `after` (what is present), then its phase's place in the boot. */
function waitsOf(task: TaskSpec, wiring: Wiring, config: Config): Set<TaskId> {
  const after = new Set(task.after.filter((id) => wiring.ids.has(id)));
  const add = (ids: Iterable<TaskId>) => {
    for (const id of ids) after.add(id);
  };
  if (STORE_PHASES.includes(task.phase)) add(storeTaskWaits(task, wiring, config));
  else if (task.phase === 'replicate') add(wiring.storeLasts);
  else if (task.phase === 'start') add(startWaits(task, wiring, config));
  else if (task.phase === 'service') {
    // A service only processes wait for is waited on when they can start (its `wait` counts from
    // there, and a service that never answers does not cut a migration short); a default one from
    // the start of the boot, beside lease and restore.
    const s = serviceOf(task, config);
    if (s && s.processes.length > 0) add(wiring.startPrerequisites);
  }
  return after;
}

/**
 * A store's task: the one before it in the store's chain; the first one waits for the boot lease
 * (sqlite) and for the last task of each store its `after:` names. The store's first migrate or seed
 * task waits for the default services; the rest follow it.
 */
function storeTaskWaits(task: TaskSpec, wiring: Wiring, config: Config): TaskId[] {
  const waits: TaskId[] = [];
  const list = wiring.chain.get(task.target) ?? [];
  const previous = list[list.indexOf(task) - 1];
  if (isMigrate(task) && !isMigrate(previous)) waits.push(...wiring.defaultServices);
  if (previous) return [...waits, previous.id];
  const store = config.stores.find((s) => s.name === task.target);
  if (store?.kind === 'sqlite') waits.push(...wiring.leaseIds);
  for (const other of store?.after ?? []) {
    const last = lastOf(wiring.chain, other);
    if (last) waits.push(last);
  }
  return waits;
}

/** A process: replicate (or every store), the services its `after:` names, the default services when nothing migrates. */
function startWaits(task: TaskSpec, wiring: Wiring, config: Config): TaskId[] {
  const waits = [...wiring.startPrerequisites];
  const process = config.processes.find((p) => p.name === task.target);
  for (const name of process?.services ?? []) {
    const id = taskId('service', name);
    if (wiring.ids.has(id)) waits.push(id);
  }
  // Nothing to migrate: the processes are the first tasks that need the default services.
  if (!wiring.hasMigrates) waits.push(...wiring.defaultServices);
  return waits;
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
