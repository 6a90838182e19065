#!/usr/bin/env node
// argv → command. Answers --version and --help before importing anything heavy, imports a command
// module only once it knows the command, and is the sole owner of the exit code and of printing
// errors (`Error: …` then `Try: …`). On any exit, kills every process group bootseq started.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { killAllGroups } from './core/groups.js';

const COMMANDS = ['up', 'plan', 'restore', 'migrate', 'verify', 'rehearse', 'checksum', 'report'] as const;
type CommandName = (typeof COMMANDS)[number];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

const HELP = `bootseq — restore, migrate and verify an app's databases, then start Litestream and the app's
processes in order and supervise them (a container entrypoint: tini -- bootseq up).

Usage: bootseq <command> [options]

Commands:
  up [--until PHASE]      every phase, then supervise until a signal or a process exit
                          PHASE: restore | migrate | verify | replicate | ready
  plan                    print the task graph the config yields; touches nothing
  restore [STORE…]        restore missing sqlite databases from their replicas
  restore --from-backup PATH STORE
                          put a pre-migration backup back (the app stopped)
  migrate [STORE…]        restore missing databases, then migrate and seed
  verify [STORE…]         check every gate; exit 0 only if all pass
  rehearse --into DIR [--timestamp T] [--postgres-url URL]
                          restore every store into DIR (postgres: a scratch database), migrate
                          and verify the copies; the live databases and the replica are untouched
  checksum FILE --history sqlx|flyway|bootseq
                          print the checksum that tool records for FILE
  report [--json]         print the last run report

Options:
  --config PATH           bootseq.yml to use (default ./bootseq.yml, env BOOTSEQ_CONFIG)
  --log-format FORMAT     auto | pretty | plain | json (auto: pretty on a TTY, plain otherwise)
  --version, --help

Exit codes: 0 success or clean shutdown after SIGTERM/SIGINT; 1 a phase failed; 2 bad usage or
config (nothing was touched); N when a supervised process exits with N (128+signal if killed).`;

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--version') || argv[0] === 'version') {
    process.stdout.write(`bootseq ${version()}\n`);
    return 0;
  }
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    process.stdout.write(`${HELP}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const { UsageError, BootseqError } = await import('./core/errors.js');
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        'log-format': { type: 'string' },
        until: { type: 'string' },
        json: { type: 'boolean' },
        history: { type: 'string' },
        'from-backup': { type: 'string' },
        into: { type: 'string' },
        timestamp: { type: 'string' },
        'postgres-url': { type: 'string' },
      },
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS_')) return fail(new UsageError((error as Error).message));
    throw error;
  }
  const [name, ...positionals] = parsed.positionals;
  let logFormat = parsed.values['log-format'] ?? 'auto';
  try {
    if (!COMMANDS.includes(name as CommandName)) {
      throw new UsageError(`unknown command "${name}" (commands: ${COMMANDS.join(', ')})`);
    }
    const { LOG_FORMATS } = await import('./log/index.js');
    if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
      const shown = logFormat;
      logFormat = 'auto';
      throw new UsageError(`--log-format: expected one of ${LOG_FORMATS.join(', ')}, found "${shown}"`);
    }
    const { UNTIL } = await import('./core/graph.js');
    const until = parsed.values.until;
    if (until !== undefined && !(UNTIL as readonly string[]).includes(until)) {
      throw new UsageError(`--until: expected one of ${UNTIL.join(', ')}, found "${until}"`);
    }
    if (until !== undefined && name !== 'up' && name !== 'plan')
      throw new UsageError(`--until applies to \`bootseq up\` and \`bootseq plan\` only`);
    if (
      (parsed.values.into !== undefined ||
        parsed.values.timestamp !== undefined ||
        parsed.values['postgres-url'] !== undefined) &&
      name !== 'rehearse'
    )
      throw new UsageError('--into and --timestamp apply to `bootseq rehearse` only');
    if (parsed.values['from-backup'] !== undefined && name !== 'restore')
      throw new UsageError('--from-backup applies to `bootseq restore` only');
    if (parsed.values.history !== undefined && name !== 'checksum')
      throw new UsageError('--history applies to `bootseq checksum` only');
    if (positionals.length > 0 && (name === 'up' || name === 'plan'))
      throw new UsageError(`\`bootseq ${name}\` takes no arguments, found "${positionals.join(' ')}"`);
    const command = (await import(`./commands/${name}.js`)) as {
      run(ctx: import('./commands/context.js').CommandContext): Promise<number>;
    };
    return await command.run({
      configPath: parsed.values.config ?? process.env['BOOTSEQ_CONFIG'] ?? 'bootseq.yml',
      logFormat: logFormat as 'auto',
      positionals,
      until: until as never,
      json: parsed.values.json ?? false,
      history: parsed.values.history,
      fromBackup: parsed.values['from-backup'],
      into: parsed.values.into,
      timestamp: parsed.values.timestamp,
      postgresUrl: parsed.values['postgres-url'],
      argv,
      version: version(),
      print: (text) => process.stdout.write(`${text}\n`),
    });
  } catch (error) {
    if (error instanceof BootseqError) return fail(error, logFormat);
    throw error;
  }

  function fail(error: InstanceType<typeof BootseqError>, format = 'auto'): number {
    if (format === 'json') {
      process.stdout.write(
        `${JSON.stringify({ time: new Date().toISOString(), event: 'error', code: error.code, message: error.message, hint: error.hint, exit_code: error.exitCode })}\n`,
      );
    } else {
      process.stderr.write(`Error: ${error.message}\n${error.hint ? `Try: ${error.hint}\n` : ''}`);
    }
    return error.exitCode;
  }
}

// Detached children survive their parent: whatever way bootseq exits, no process it started remains.
process.on('exit', killAllGroups);

main(process.argv.slice(2))
  .then((code) => {
    killAllGroups();
    process.exitCode = code;
    process.exit(code);
  })
  .catch((error: unknown) => {
    process.stderr.write(
      `bootseq: internal error (a bug; please report it):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    killAllGroups();
    process.exitCode = 1;
    process.exit(1);
  });
