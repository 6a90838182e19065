// Servers a test starts beside bootseq (a real redis-server, the HTTP status stub), each resolved once
// it accepts connections and killed by PID after the test, pass or fail (call stopServers in
// afterEach).

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { FIXTURES } from './config.js';

const servers: ChildProcess[] = [];

/** Kills (SIGKILL, by PID) one server, and waits for its exit. */
export async function stopServer(server: ChildProcess): Promise<void> {
  if (server.pid === undefined || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  process.kill(server.pid, 'SIGKILL');
  await exited;
}

/** Every server started since the last call: killed by PID, each waited for. */
export async function stopServers(): Promise<void> {
  await Promise.all(servers.splice(0).map(stopServer));
}

/** Resolves once 127.0.0.1:port accepts a connection, or fails when the server exits first. */
async function accepting(server: ChildProcess, port: number, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    if (server.exitCode !== null || server.signalCode !== null)
      throw new Error(`${what} on port ${port} exited (${server.exitCode ?? server.signalCode})`);
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${what} did not accept connections on port ${port} within 10 s`);
}

/** `redis-server` on 127.0.0.1:port, no persistence, accepting; extra args such as `--requirepass PW`. */
export async function startRedis(port: number, ...args: string[]): Promise<ChildProcess> {
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  servers.push(server);
  await accepting(server, port, 'redis-server');
  return server;
}

/**
 * test/fixtures/http-status.mjs on port: `badCount` answers of `badStatus`, then 200 (-1: forever);
 * resolved once it listens (a loaded machine starts it late). `answers` grows with each status sent.
 */
export async function startHttp(
  port: number,
  badCount: number,
  badStatus: number,
): Promise<{ server: ChildProcess; answers: string[] }> {
  const server = spawn(
    process.execPath,
    [`${FIXTURES}/http-status.mjs`, String(port), String(badCount), String(badStatus)],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  servers.push(server);
  const answers: string[] = [];
  let listening: () => void = () => undefined;
  const listened = new Promise<'listening'>((resolve) => (listening = () => resolve('listening')));
  server.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    if (text.includes('listening')) listening();
    answers.push(...(text.match(/answered \d+/g) ?? []));
  });
  const exited = new Promise<'exited'>((resolve) => server.once('exit', () => resolve('exited')));
  if ((await Promise.race([listened, exited])) === 'exited')
    throw new Error(`http-status.mjs on port ${port} exited (${server.exitCode ?? server.signalCode})`);
  return { server, answers };
}
