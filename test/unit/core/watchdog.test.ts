// The watchdog's script with real processes: the groups it was told of and not told to forget are
// SIGKILLed once its input ends (bootseq died); the forgotten one is left alone.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { WATCHDOG_SCRIPT } from '../../../core/watchdog.js';

/** Live (not zombie) members of a process group, from /proc. */
function members(pgid: number): number[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(group) === pgid && state !== 'Z' ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

describe('the watchdog script', () => {
  const started: number[] = [];
  afterEach(() => {
    for (const pid of started.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  test('on end of input: SIGKILLs every group added and not removed, whole groups, then exits', async () => {
    const group = () => {
      // A leader with a member in its group: both must go.
      const child = spawn('sh', ['-c', 'sleep 300 & exec sleep 300'], { detached: true, stdio: 'ignore' });
      child.unref();
      started.push(child.pid!);
      return child.pid!;
    };
    const [a, b, c] = [group(), group(), group()];
    const watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise((resolve) => watchdog.once('exit', resolve));
    watchdog.stdin.end(`+${a}\n+${b}\n+${c}\n-${b}\n`);
    await exited;
    await expect.poll(() => [...members(a), ...members(c)]).toEqual([]);
    expect(members(b)).toHaveLength(2);
  });
});
