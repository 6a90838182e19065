import { describe, expect, test } from 'vitest';
import { shellLine, spawner } from '../../../core/spawn.js';
import type { Child } from '../../../core/task.js';

describe('shellLine', () => {
  test.each([
    ['node web.js --port 3000', 'exec node web.js --port 3000'],
    ['bin/rails server -b "0.0.0.0"', 'exec bin/rails server -b "0.0.0.0"'],
    ['PORT=3 node web.js', 'PORT=3 exec node web.js'],
    ["A='x y' node web.js", "A='x y' node web.js"],
    ['cd app && node web.js', 'cd app && node web.js'],
    ['node a.js | tee log', 'node a.js | tee log'],
    ['exec node web.js', 'exec node web.js'],
    ['if true; then x; fi', 'if true; then x; fi'],
  ])('%s', (command, expected) => {
    expect(shellLine(command)).toBe(expected);
  });
});

describe('a child’s exit says who signalled it, and a frozen child is resumed to act on its stop', () => {
  const node = (code: string) => ({ command: { file: process.execPath, args: ['-e', code] } });
  const started = (child: Child) =>
    new Promise<void>((resolve) => child.onLine((line) => line === 'ready' && resolve()));

  test('SIGKILL from outside: killedByBootseq false', async () => {
    await spawner.load();
    const child = spawner.start(node("console.log('ready'); setInterval(() => {}, 1000)"));
    await started(child);
    process.kill(child.pid, 'SIGKILL');
    expect(await child.exited).toEqual({ exitCode: undefined, signal: 'SIGKILL', killedByBootseq: false });
  });

  test('SIGKILL after the grace: killedByBootseq true', async () => {
    await spawner.load();
    const child = spawner.start(
      node("process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)"),
    );
    await started(child);
    expect(await child.stop(200)).toEqual({ exitCode: undefined, signal: 'SIGKILL', killedByBootseq: true });
  });

  test('a SIGSTOPped child gets SIGCONT after SIGTERM: it exits by its own handler, long before its grace', async () => {
    await spawner.load();
    const child = spawner.start(
      node("process.on('SIGTERM', () => process.exit(0)); console.log('ready'); setInterval(() => {}, 1000)"),
    );
    await started(child);
    process.kill(child.pid, 'SIGSTOP');
    const startedAt = Date.now();
    expect(await child.stop(20_000)).toEqual({ exitCode: 0, signal: undefined, resumed: true });
    expect(Date.now() - startedAt).toBeLessThan(5000);
  });
});
