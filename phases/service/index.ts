// The service phase: one task per `services:` entry, waiting until it answers (probe.ts), retried
// with backoff and bounded by its `wait`. The graph decides who waits for it (migrate by default,
// or the processes whose `after:` names it). Its address is shown only redacted, and the URL's
// password is scrubbed from whatever the server answers: it never reaches a log, plan or report.

import { elapsed } from '../../core/format.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskFailedError } from '../../core/errors.js';
import type { ServiceConfig } from '../../config/schema.js';
import { taskId, type Phase, type TaskContext } from '../../core/task.js';
import { credentialsOf, describeCheck, probeOnce } from './probe.js';

/** One attempt never takes longer: a server that accepts and stays silent is retried, not waited on. */
const ATTEMPT_MS = 2000;
/** The pause between attempts starts here and doubles up to BACKOFF_MAX_MS. */
const BACKOFF_MS = 250;
const BACKOFF_MAX_MS = 2000;
/** A "waiting for" line at most this often, so a 30 s wait is a few lines, not one per attempt. */
const NOTE_EVERY_MS = 5000;

export const service: Phase = {
  name: 'service',
  tasks: (config) =>
    config.services.map((s) => ({
      id: taskId('service', s.name),
      phase: 'service' as const,
      target: s.name,
      after: [],
      describe: `wait for ${config.redact(s.url)} until ${describeCheck(s)} (up to ${s.waitMs / 1000}s)`,
      run: (ctx) => waitForService(ctx, s),
    })),
};

async function waitForService(ctx: TaskContext, s: ServiceConfig): Promise<void> {
  const shown = ctx.config.redact(s.url);
  const scrub = scrubber(ctx, s.url);
  const startedAtMs = Date.now();
  const deadlineMs = startedAtMs + s.waitMs;
  let attempts = 0;
  let pauseMs = BACKOFF_MS;
  let lastError = '';
  let notedAtMs: number | undefined;
  ctx.record('address', shown);
  for (;;) {
    ctx.signal.throwIfAborted();
    attempts += 1;
    // The last attempt may run a little past the deadline, never the whole wait again.
    const budgetMs = Math.min(ATTEMPT_MS, Math.max(deadlineMs - Date.now(), 100));
    const result = await probeOnce(s, ctx.signal, budgetMs);
    ctx.signal.throwIfAborted();
    const nowMs = Date.now();
    ctx.record('attempts', attempts);
    ctx.record('waited_ms', nowMs - startedAtMs);
    if (result.ok) {
      ctx.summarize(
        `answered ${result.answer} after ${elapsed(nowMs - startedAtMs)} (${plural(attempts, 'attempt')})`,
      );
      return;
    }
    lastError = scrub(result.problem);
    if (nowMs >= deadlineMs) break;
    if (notedAtMs === undefined || nowMs - notedAtMs >= NOTE_EVERY_MS) {
      notedAtMs = nowMs;
      ctx.note(
        'info',
        `waiting for ${s.name} at ${shown}: ${lastError} (${plural(attempts, 'attempt')} so far)`,
      );
    }
    await sleep(Math.min(pauseMs, deadlineMs - nowMs), undefined, { signal: ctx.signal }).catch(
      () => undefined,
    );
    pauseMs = Math.min(pauseMs * 2, BACKOFF_MAX_MS);
  }
  ctx.record('last_error', lastError);
  throw new TaskFailedError(
    ctx.taskId,
    `${s.name} did not answer at ${shown} within ${s.waitMs / 1000}s (${plural(attempts, 'attempt')}; last error: ${lastError})`,
    {
      hint: `check that ${s.name} is up and reachable from here and that services.${s.name}.url is right; raise services.${s.name}.wait if it starts slowly`,
    },
  );
}

/**
 * Redacts like the rest of bootseq, and also removes the password AUTH sends (a server's answer is not
 * a URL). Config loading already knows that password in every form (services.ts normalized the URL
 * with secrets.ts's rules); a password shorter than 3 bytes is not removed from free text, or
 * "username-password pair" would become nonsense. No regular expression over the URL here: one that
 * stopped at the first `@` turned a password `p@…` into the secret `p` (issue 29).
 */
function scrubber(ctx: TaskContext, url: string): (text: string) => string {
  const { password } = credentialsOf(url);
  const redact = ctx.config.redact;
  if (password.length < 3) return redact;
  return (text) => redact(text.split(password).join('***'));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
