#!/usr/bin/env node
// argv → command. Answers --version before loading any command; builds `--help` and checks options and
// positionals from the commands' own specs (commands/index.ts), which load nothing heavy; a command's
// `run` loads what it needs. The sole owner of the exit code and of printing errors (`Error: …` then
// `Try: …`). On any exit, kills every process group bootseq started.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Command } from './commands/index.js';
import type { OptionSpec } from './commands/context.js';
import type { Until } from './core/graph.js';
import { killAllGroups } from './core/groups.js';
import type { LogFormat } from './log/index.js';

/** Options every command accepts. */
const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  config: {
    type: 'string',
    value: 'PATH',
    help: 'bootseq.yml to use (default ./bootseq.yml, env BOOTSEQ_CONFIG)',
  },
  'log-format': {
    type: 'string',
    value: 'FORMAT',
    help: 'auto | pretty | plain | json (auto: pretty on a TTY, plain otherwise)',
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Two columns: `  left` padded to 24, then `right` (its continuation lines indented to match). */
function columns(rows: readonly (readonly [string, string])[]): string[] {
  const pad = ' '.repeat(24);
  return rows.flatMap(([left, right]) => {
    const [first = '', ...rest] = right.split('\n');
    const head = left.length < 22 ? [`  ${left.padEnd(22)}${first}`] : [`  ${left}`, `${pad}${first}`];
    return [...head, ...rest.map((line) => `${pad}${line}`)].map((line) => line.trimEnd());
  });
}

function optionRows(options: Readonly<Record<string, OptionSpec>>): [string, string][] {
  return Object.entries(options).map(([name, o]) => [
    `--${name}${o.value ? ` ${o.value}` : ''}`,
    `${o.help}${o.choices ? `\n${o.value ?? 'one of'}: ${o.choices.join(' | ')}` : ''}`,
  ]);
}

function helpText(commands: readonly Command[]): string {
  const rows: [string, string][] = [];
  const shown = new Set<string>(); // a value's choices once, under the first synopsis that names it
  for (const { spec } of commands) {
    for (const { synopsis, summary } of spec.usage) {
      let text = summary;
      for (const [name, o] of Object.entries(spec.options)) {
        if (!o.value || !o.choices || shown.has(o.value) || !synopsis.includes(`--${name} ${o.value}`))
          continue;
        shown.add(o.value);
        text += `\n${o.value}: ${o.choices.join(' | ')}`;
      }
      rows.push([synopsis, text]);
    }
  }
  return [
    "bootseq — restore, migrate and verify an app's databases, then start Litestream and the app's",
    'processes in order and supervise them (a container entrypoint: tini -- bootseq up).',
    '',
    'Usage: bootseq <command> [options]',
    '       bootseq help <command>      (or bootseq <command> --help) for its usage and options',
    '',
    'Commands:',
    ...columns(rows),
    '',
    'Options:',
    ...columns([...optionRows(GLOBAL_OPTIONS), ['--version, --help', '']]),
    '',
    'Exit codes: 0 success or clean shutdown after SIGTERM/SIGINT; 1 a phase failed; 2 bad usage or',
    'config (nothing was touched); N when a supervised process exits with N (128+signal if killed).',
  ].join('\n');
}

function commandHelp({ spec }: Command): string {
  return [
    ...spec.usage.flatMap(({ synopsis, details }) => [
      `bootseq ${synopsis}`,
      ...details.split('\n').map((line) => `  ${line}`),
    ]),
    '',
    'Options:',
    ...columns([...optionRows(spec.options), ...optionRows(GLOBAL_OPTIONS)]),
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--version') || argv[0] === 'version') {
    process.stdout.write(`bootseq ${version()}\n`);
    return 0;
  }
  const [{ COMMANDS }, { UsageError, BootseqError }] = await Promise.all([
    import('./commands/index.js'),
    import('./core/errors.js'),
  ]);
  const names = COMMANDS.map((c) => c.spec.name).join(', ');
  const unknown = (name: string) => new UsageError(`unknown command "${name}" (commands: ${names})`);
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    const topic = argv[0] === 'help' ? argv[1] : argv[0];
    const command = COMMANDS.find((c) => c.spec.name === topic);
    if (argv[0] === 'help' && topic !== undefined && !command) return fail(unknown(topic));
    process.stdout.write(`${command ? commandHelp(command) : helpText(COMMANDS)}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  // Every command's options are known to the parser, so one given to the wrong command gets a message
  // naming the commands that take it rather than "Unknown option".
  const known: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS };
  for (const { spec } of COMMANDS) Object.assign(known, spec.options);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(Object.entries(known).map(([name, o]) => [name, { type: o.type }])),
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS_')) return fail(new UsageError((error as Error).message));
    throw error;
  }
  const [name, ...positionals] = parsed.positionals;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  let logFormat = (values['log-format'] as string | undefined) ?? 'auto';
  try {
    const command = COMMANDS.find((c) => c.spec.name === name);
    if (!command) {
      if (name === undefined) throw new UsageError(`no command given (commands: ${names})`);
      throw unknown(name);
    }
    const { LOG_FORMATS } = await import('./log/index.js');
    if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
      const shown = logFormat;
      logFormat = 'auto';
      throw new UsageError(`--log-format: expected one of ${LOG_FORMATS.join(', ')}, found "${shown}"`);
    }
    checkArguments(command, values, positionals);
    return await command.run({
      configPath: (values['config'] as string | undefined) ?? process.env['BOOTSEQ_CONFIG'] ?? 'bootseq.yml',
      logFormat: logFormat as LogFormat,
      positionals,
      until: values['until'] as Until | undefined,
      json: values['json'] === true,
      history: values['history'] as string | undefined,
      fromBackup: values['from-backup'] as string | undefined,
      into: values['into'] as string | undefined,
      timestamp: values['timestamp'] as string | undefined,
      postgresUrl: values['postgres-url'] as string | undefined,
      argv,
      version: version(),
      print: (text) => process.stdout.write(`${text}\n`),
    });
  } catch (error) {
    if (error instanceof BootseqError) return fail(error, logFormat);
    throw error;
  }

  /** Refuses options the command does not take, values outside an option's choices, and positionals. */
  function checkArguments(
    { spec }: Command,
    given: Readonly<Record<string, string | boolean | undefined>>,
    positionals: readonly string[],
  ): void {
    const help = `run \`bootseq help ${spec.name}\` for its usage and options`;
    for (const [option, value] of Object.entries(given)) {
      if (value === undefined || option in GLOBAL_OPTIONS) continue;
      const accepted = spec.options[option];
      if (!accepted) {
        const takers = COMMANDS.filter((c) => option in c.spec.options).map((c) => c.spec.name);
        throw new UsageError(
          `--${option} applies to ${takers.map((t) => `\`bootseq ${t}\``).join(' and ')} only`,
          help,
        );
      }
      if (accepted.choices && !accepted.choices.includes(String(value)))
        throw new UsageError(
          `--${option}: expected one of ${accepted.choices.join(', ')}, found "${String(value)}"`,
          help,
        );
    }
    const takes = spec.positionals;
    if (!takes && positionals.length > 0)
      throw new UsageError(
        `\`bootseq ${spec.name}\` takes no arguments, found "${positionals.join(' ')}"`,
        help,
      );
    if (takes?.count === 'one' && positionals.length !== 1)
      throw new UsageError(
        `expected one ${takes.name}: bootseq ${spec.usage[0]?.synopsis ?? spec.name}`,
        help,
      );
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
