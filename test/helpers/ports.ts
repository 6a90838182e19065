// A loopback port that nothing answers on, held for as long as a test needs it closed.
//
// A port from freePort() is only free when asked: once its probe socket is closed, any process may
// take it (seen: the S3-unreachable test got HTTP 404 from whoever had). closedPort() keeps a socket
// bound to the port that never listens: a connection to it is refused at once (ECONNREFUSED), and no
// other socket can bind the port until it is released, SO_REUSEADDR or not (Linux refuses a bind
// beside a socket that did not set it). Node cannot bind without listening, and libuv's bind sets
// SO_REUSEADDR, which lets a listener in beside it; so the holder is a perl one-liner (perl-base is
// Essential on Debian: every machine the tests run on has it), killed by PID when released, and gone
// by itself when the test process dies (it waits for end-of-file on its stdin).

import { spawn } from 'node:child_process';
import type { TmpProject } from './project.js';

const HOLD = [
  'use Socket;',
  'socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";',
  'bind($s, pack_sockaddr_in(0, inet_aton("127.0.0.1"))) or die "bind: $!";',
  'my ($port) = unpack_sockaddr_in(getsockname($s));',
  '$| = 1; print "$port\\n";',
  '1 while <STDIN>;',
].join(' ');

export interface ClosedPort {
  readonly port: number;
  /** Lets the port go (for a test that starts a server on it next); the project's destroy does too. */
  release(): Promise<void>;
}

/** A port on 127.0.0.1 that refuses connections and that no one else can bind until released. */
export async function closedPort(project: TmpProject): Promise<ClosedPort> {
  const holder = spawn('perl', ['-e', HOLD], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  const release = async () => {
    if (holder.exitCode === null && holder.signalCode === null && holder.pid !== undefined) {
      process.kill(holder.pid, 'SIGKILL');
      await exited;
    }
  };
  project.onDestroy(() => {
    if (holder.exitCode === null && holder.signalCode === null && holder.pid !== undefined)
      process.kill(holder.pid, 'SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    holder.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    holder.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    holder.once('error', reject);
    void exited.then(() => reject(new Error(`closedPort: perl exited before binding: ${err}`)));
  });
  if (!(port > 0)) throw new Error(`closedPort: perl said ${port}`);
  return { port, release };
}
