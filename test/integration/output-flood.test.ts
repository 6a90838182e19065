// Output of any shape (issue 29): a process that writes 1 GB without a newline is relayed in bounded
// memory, cut at 64 KiB with a mark, and bootseq keeps answering: SIGTERM meanwhile stops everything in
// order within a second or two. (Node's readline crashed bootseq with "Invalid string length" here.)

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { useProcesses } from '../helpers/config.js';
import { test } from '../helpers/fixtures.js';
import { processesIn, readyWith } from '../helpers/project.js';

function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

describe('output of any shape', () => {
  test('1 GB without a newline: relayed cut and marked, bootseq under 250 MB, SIGTERM answered at once', async ({
    project,
  }) => {
    // One byte stream of 1 GiB with no newline, then a newline and a last line (bootseq has read
    // everything once it relays that line), then the process idles with its pipe still open.
    useProcesses(
      project,
      `  flood:\n    command: "head -c 1073741824 /dev/zero | tr '\\\\0' x; echo; echo flood-done; sleep 600"\n    ready: { delay: 100ms }\n`,
      '{ grace: 2s, replication_grace: 10s }',
    );
    const boot = project.start(['up', '--log-format', 'plain']);
    await boot.waitForLine(readyWith('flood'));
    let peakMb = 0;
    const sampler = setInterval(() => (peakMb = Math.max(peakMb, rssMb(boot.pid))), 50);
    try {
      // The line after the flood: the pipe is drained, every byte before it read (and skipped).
      await boot.waitForLine(/\[flood\] flood-done$/, 90_000);
    } finally {
      clearInterval(sampler);
    }
    const cut = boot.lines.filter((l) => l.includes('[… line cut at 64 KiB]'));
    expect(cut).toHaveLength(1);
    expect(cut[0]!.length).toBeLessThan(70 * 1024);
    expect(peakMb).toBeGreaterThan(0);
    expect(peakMb).toBeLessThan(250);
    const asked = Date.now();
    process.kill(boot.pid, 'SIGTERM');
    const done = await boot.done;
    expect(done.exitCode, done.output.slice(-1500)).toBe(0);
    expect(Date.now() - asked).toBeLessThan(5000);
    expect(processesIn(project.dir)).toEqual([]);
  });
});
