// bootseq.yml's `processes:` resolved: `after:` targets that exist (processes, or services waited on
// right before this one), programs that exist, restart settings in camelCase and ms. Only reads the disk; never starts a process (start/ does).

import type { ResolveContext } from './context.js';
import { checkCommand } from './executables.js';
import type { ProcessConfig, RawConfig } from './schema.js';

/** Every process in the order written (the order they start in when `after:` is not given). */
export function resolveProcesses(
  ctx: ResolveContext,
  raw: RawConfig['processes'],
  services: RawConfig['services'] = {},
): ProcessConfig[] {
  const names = Object.keys(raw);
  const serviceNames = Object.keys(services);
  return Object.entries(raw).map(([name, p]) => {
    const at = `processes.${name}`;
    for (const [i, target] of (p.after ?? []).entries()) {
      if (target in raw && target in services)
        ctx.issue(
          `${at}.after[${i}]`,
          `"${target}" is both processes.${target} and services.${target} (expected one meaning; rename one of them)`,
        );
      else if (!(target in raw) && !(target in services))
        ctx.issue(
          `${at}.after[${i}]`,
          serviceNames.length === 0
            ? `unknown process "${target}" (processes: ${names.join(', ')})`
            : `unknown process or service "${target}" (processes: ${names.join(', ')}; services: ${serviceNames.join(', ')})`,
        );
    }
    // Naming only services keeps the default order (after the process written before it).
    const afterProcesses = p.after?.filter((t) => t in raw && !(t in services));
    const afterServices = (p.after ?? []).filter((t) => t in services && !(t in raw));
    const problem = checkCommand(p.command, ctx);
    if (problem) ctx.issue(`${at}.command`, problem);
    const livenessProblem = p.liveness?.exec === undefined ? undefined : checkCommand(p.liveness.exec, ctx);
    if (livenessProblem) ctx.issue(`${at}.liveness.exec`, livenessProblem);
    return {
      name,
      command: p.command,
      after:
        afterProcesses !== undefined && afterProcesses.length === 0 && afterServices.length > 0
          ? undefined
          : afterProcesses,
      services: afterServices,
      env: p.env ?? {},
      ready: p.ready,
      restart: {
        onFailure: p.restart === 'on-failure',
        maxRestarts: p.max_restarts,
        windowMs: p.restart_window,
        backoffMs: p.backoff,
      },
      liveness: p.liveness && {
        http: p.liveness.http,
        tcp: p.liveness.tcp,
        exec: p.liveness.exec,
        everyMs: p.liveness.every,
        timeoutMs: p.liveness.timeout,
        failures: p.liveness.failures,
      },
    };
  });
}
