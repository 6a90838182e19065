// The watchdog: what stops bootseq's children when bootseq itself dies without a chance to (SIGKILL,
// the OOM killer) outside a container, where no PID namespace ends with it. One `/bin/sh` (about
// 1 MB, for the whole run, not per child) reads the process groups bootseq starts and ends on a
// pipe; bootseq alone holds the pipe's write end, so when bootseq's process is gone, however it died,
// the kernel closes it, the watchdog reads end-of-file and SIGKILLs every group still listed, then
// exits. Chosen over prctl(PR_SET_PDEATHSIG) through `setpriv --pdeathsig`: that signal reaches only
// the direct child (not `sh -c` pipelines or forked workers in its group), follows the thread that
// spawned it, needs util-linux (absent on Alpine and distroless), and costs an exec per child.
// SIGKILL, not SIGTERM: the same as a container whose main process died (the kernel kills the
// namespace), and an orphaned Litestream must not keep replicating a moment longer, because the
// replication lease died with bootseq and another bootseq may take over at once. The watchdog runs
// in its own session (a kill of bootseq's process group spares it) with `/` as its folder (it keeps
// no volume busy). Never decides to stop anything while bootseq lives: it only acts on bootseq's death.

import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { watchGroups } from './groups.js';

/** `+PGID` adds a group, `-PGID` removes it; end-of-file: SIGKILL every group left, then exit. */
export const WATCHDOG_SCRIPT = `groups=' '
while IFS= read -r line; do
  case $line in
    +*) groups="$groups\${line#+} " ;;
    -*) g=\${line#-}; case $groups in *" $g "*) groups="\${groups%% $g *} \${groups#* $g }" ;; esac ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done`;

/** A watchdog that keeps dying (someone kills it) is started again at most this often. */
const MAX_STARTS = 5;

let current: ChildProcess | undefined;
let starts = 0;
const watched = new Set<number>();

/** Tells the running watchdog about one change, or starts one that learns every group watched now. */
function send(line: string): void {
  const stdin = current?.stdin;
  if (!current) ensure();
  else if (stdin?.writable) stdin.write(`${line}\n`);
}

/** Starts a watchdog that learns every group watched so far (at most MAX_STARTS in a run). */
function ensure(): void {
  if (current || starts >= MAX_STARTS) return;
  starts += 1;
  const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT], {
    cwd: '/',
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  current = child;
  // Neither the watchdog nor its pipe keeps bootseq running.
  child.unref();
  if (child.stdin instanceof Socket) child.stdin.unref();
  child.stdin?.on('error', () => undefined); // EPIPE once it died: the exit below handles it
  const gone = () => {
    if (current === child) current = undefined;
  };
  child.once('error', gone);
  child.once('exit', gone);
  for (const pgid of watched) child.stdin?.write(`+${pgid}\n`);
}

/** From now on every process group bootseq starts is killed if bootseq dies before it ends. */
export function startWatchdog(): void {
  watchGroups({
    add(pgid) {
      watched.add(pgid);
      send(`+${pgid}`);
    },
    remove(pgid) {
      if (watched.delete(pgid)) send(`-${pgid}`);
    },
  });
}
