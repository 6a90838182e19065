// `bootseq status [--json] [--socket PATH]`: asks the bootseq running here over its control socket
// (status.socket; read-only) and prints the boot, each process, Litestream and each store's
// replication lag. Exit 0 healthy, 1 degraded, 3 when no bootseq runs there, 2 when the socket is not
// this user's to trust (another user's, or not a socket): refused before a byte is sent.

import { EXIT_FAILED, EXIT_NOT_RUNNING, EXIT_OK, EXIT_USAGE } from '../../core/exit.js';
import type { CommandContext, CommandSpec } from './context.js';

export const spec: CommandSpec = {
  name: 'status',
  usage: [
    {
      synopsis: 'status [--json] [--socket PATH]',
      summary: 'ask the running bootseq how its processes, Litestream and replicas are',
      details: `Ask the bootseq running with this config (over its control socket, status.socket) for the boot's
outcome, each process (pid, ready, restarts, uptime), Litestream, and per sqlite store the generation,
the last change that reached the replica and the replication lag. Reads only; changes nothing.
Exit 0: healthy. 1: degraded (a process not ready, Litestream down, a store lagging past
health.max_lag, or still booting). 3: no bootseq is running there. 2: the path is not a socket of this
user (another user made it, or it is another kind of file): not asked.`,
    },
  ],
  options: {
    json: { type: 'boolean', help: 'print the snapshot as JSON (also with --log-format json)' },
    socket: {
      type: 'string',
      value: 'PATH',
      help: 'the control socket to ask, instead of the one bootseq.yml names (status.socket)',
    },
  },
};

export async function run(cmd: CommandContext): Promise<number> {
  const socket = cmd.socket ?? (await socketFromConfig(cmd.configPath));
  const { askStatus } = await import('../status/client.js');
  const asked = await askStatus(socket);
  if (asked.kind !== 'answered') {
    cmd.print(`bootseq status: ${asked.why}`);
    return asked.kind === 'absent' ? EXIT_NOT_RUNNING : asked.kind === 'refused' ? EXIT_USAGE : EXIT_FAILED;
  }
  const snapshot = asked.snapshot;
  if (cmd.json || cmd.logFormat === 'json') cmd.print(JSON.stringify(snapshot, null, 2));
  else cmd.print((await import('../status/render.js')).renderStatus(snapshot));
  return snapshot.health.status === 'healthy' ? EXIT_OK : EXIT_FAILED;
}

async function socketFromConfig(configPath: string): Promise<string> {
  const { loadConfig } = await import('../../config/load.js');
  const { UsageError } = await import('../../core/errors.js');
  const config = loadConfig(configPath);
  if (!config.status.socket)
    throw new UsageError(
      `${configPath}: status.socket: no usable control socket path (see the warning above)`,
      'set status.socket in bootseq.yml to a path of at most 107 bytes, or pass --socket PATH',
    );
  return config.status.socket;
}
