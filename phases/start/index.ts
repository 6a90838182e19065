// The start phase: the app's processes, in the order written (or as `after:` says), each waited on
// until ready before the next starts. A process is handed to the supervisor only once ready; one
// that exits first or never becomes ready is stopped here and fails the boot (exit 1).

import { NotReadyError } from '../../core/errors.js';
import { describeExit } from '../../core/exit.js';
import type { ProcessConfig } from '../../config/schema.js';
import { taskId, type Phase, type TaskContext } from '../../core/task.js';
import { withDeadline } from '../../core/wait.js';
import { describeReady, readyAddress, waitReady } from './readiness.js';
import { describeLiveness, watchLiveness } from './liveness.js';

export const start: Phase = {
  name: 'start',
  tasks: (config) =>
    config.processes.map((p, index) => {
      const previous = config.processes[index - 1];
      return {
        id: taskId('start', p.name),
        phase: 'start' as const,
        target: p.name,
        after: (p.after ?? (previous ? [previous.name] : [])).map((n) => taskId('start', n)),
        describe: `${config.redact(p.command)} (ready: ${describeReady(p.ready)}${p.liveness ? `; liveness: ${describeLiveness(p.liveness, config.redact)}` : ''})`,
        keepsChild: true,
        run: (ctx) => startProcess(ctx, p),
      };
    }),
};

async function startProcess(ctx: TaskContext, p: ProcessConfig): Promise<void> {
  const { taskId } = ctx;
  const { config } = ctx;
  const startedAtMs = Date.now();
  const child = await ctx.start({ command: p.command, env: p.env });
  ctx.record('pid', child.pid);
  const ready = p.ready;
  if (ready) {
    const timeoutMs = ready.timeout;
    const check = describeReady(ready);
    const lastProblem = { text: '' };
    const deadline = withDeadline(ctx.signal, timeoutMs);
    const outcome = await Promise.race([
      waitReady(child, ready, { signal: deadline.signal, dir: config.dir, startedAtMs, lastProblem }).then(
        () => 'ready' as const,
        () => 'aborted' as const,
      ),
      child.exited.then((exit) => exit),
    ]);
    // A process that exited first leaves the checks polling: they stop here.
    deadline.dispose();
    if (outcome !== 'ready') {
      const exited = typeof outcome === 'object' ? outcome : undefined;
      // Interrupted by a signal to bootseq: ctx.stop gives the process that same signal.
      await ctx.stop(child);
      ctx.signal.throwIfAborted();
      const display = config.redact(p.command);
      if (exited) {
        throw new NotReadyError(
          taskId,
          `${p.name} ${describeExit(exited)} before it was ready (ready: ${check})`,
          {
            command: display,
            outputTail: child.outputTail(),
            hint: `run \`${display}\` in ${config.dir} to see why it stops`,
          },
        );
      }
      throw new NotReadyError(
        taskId,
        `${p.name} was not ready within ${timeoutMs / 1000}s (ready: ${check}${lastProblem.text ? `; last check: ${lastProblem.text}` : ''})`,
        {
          command: display,
          outputTail: child.outputTail(),
          hint: `make \`${display}\` satisfy its ready check, or raise processes.${p.name}.ready.timeout`,
        },
      );
    }
  }
  const readyMs = Date.now() - startedAtMs;
  ctx.record('ready_ms', readyMs);
  const address = readyAddress(ready);
  if (address) ctx.record('address', address);
  ctx.summarize(
    `${address ? `ready on ${address}` : ready ? `ready (${describeReady(ready)})` : 'started'} after ${readyMs} ms`,
  );
  const { onFailure, ...limits } = p.restart;
  // Liveness (liveness.ts): follows each restarted child, and tells the supervisor which stops were its own.
  const liveness = p.liveness && watchLiveness(ctx, { ...p, liveness: p.liveness }, onFailure);
  const restart = {
    start: () => ctx.start({ command: p.command, env: p.env }).then((c) => liveness?.follow(c) ?? c),
    onFailureOnly: true,
    ...(liveness ? { stoppedBecause: liveness.stoppedBecause } : {}),
    ...limits,
  };
  ctx.keep(child, 'process', onFailure ? { restart } : {});
  liveness?.start(child);
}
