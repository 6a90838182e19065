// `after:` cycles among stores or among processes: found before anything runs, so the graph never
// has to report one halfway through a boot.

import type { ResolveContext } from './context.js';

interface Node {
  readonly name: string;
  readonly after: readonly string[];
}

/** Reports the first cycle of `after:` edges in `section` (unknown targets are reported elsewhere). */
export function checkCycle(
  ctx: ResolveContext,
  section: 'stores' | 'processes',
  nodes: readonly Node[],
): void {
  const cycle = findCycle(nodes);
  if (cycle)
    ctx.issue(
      `${section}.${cycle[0]}.after`,
      `${section} wait on each other in a cycle: ${cycle.join(' → ')}`,
    );
}

/** The names of the first cycle found, its first name repeated at the end; undefined when there is none. */
function findCycle(nodes: readonly Node[]): string[] | undefined {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of byName.get(name)?.after ?? []) {
      if (!byName.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const n of nodes) {
    const cycle = visit(n.name);
    if (cycle) return cycle;
  }
  return undefined;
}
