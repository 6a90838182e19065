// bootseq.yml's `processes:` resolved: `after:` targets that exist, programs that exist, restart
// settings in camelCase and ms. Only reads the disk; never starts a process (start/ does).

import type { ResolveContext } from './context.js';
import { checkCommand } from './executables.js';
import type { ProcessConfig, RawConfig } from './schema.js';

/** Every process in the order written (the order they start in when `after:` is not given). */
export function resolveProcesses(ctx: ResolveContext, raw: RawConfig['processes']): ProcessConfig[] {
  const names = Object.keys(raw);
  return Object.entries(raw).map(([name, p]) => {
    const at = `processes.${name}`;
    for (const [i, target] of (p.after ?? []).entries()) {
      if (!(target in raw))
        ctx.issue(`${at}.after[${i}]`, `unknown process "${target}" (processes: ${names.join(', ')})`);
    }
    const problem = checkCommand(p.command, ctx);
    if (problem) ctx.issue(`${at}.command`, problem);
    return {
      name,
      command: p.command,
      after: p.after,
      env: p.env ?? {},
      ready: p.ready,
      restart: {
        onFailure: p.restart === 'on-failure',
        maxRestarts: p.max_restarts,
        windowMs: p.restart_window,
        backoffMs: p.backoff,
      },
    };
  });
}
