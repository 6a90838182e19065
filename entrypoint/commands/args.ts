// argv → the command to run and what it runs with, checked against the commands' own specs: an option
// the command does not take names the commands that do, a value outside an option's choices names the
// choices, positionals are refused where the command takes none. Every problem is a UsageError (exit 2).

import { parseArgs } from 'node:util';
import { UsageError } from '../../core/errors.js';
import type { Until } from '../../core/graph.js';
import { LOG_FORMATS, type LogFormat } from '../log/index.js';
import type { CommandContext, OptionSpec } from './context.js';
import { GLOBAL_OPTIONS } from './help.js';
import type { Command } from './index.js';

export interface CommandLine {
  readonly command: Command;
  /** What the command's `run` gets, but for what only cli.ts knows (argv, version, print). */
  readonly context: Omit<CommandContext, 'argv' | 'version' | 'print'>;
}

/** The parsed option values, raw: `--log-format` as given, so a usage error can still honour `json`. */
export function parseOptions(argv: readonly string[], commands: readonly Command[]) {
  // Every command's options are known to the parser, so one given to the wrong command gets a message
  // naming the commands that take it rather than "Unknown option".
  const known: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS };
  for (const { spec } of commands) Object.assign(known, spec.options);
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(Object.entries(known).map(([name, o]) => [name, { type: o.type }])),
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((error as Error).message);
    throw error;
  }
}

export function resolveCommandLine(
  parsed: ReturnType<typeof parseOptions>,
  commands: readonly Command[],
  env: Readonly<Record<string, string | undefined>>,
): CommandLine {
  const [name, ...positionals] = parsed.positionals;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const command = commands.find((c) => c.spec.name === name);
  if (!command) {
    const names = commands.map((c) => c.spec.name).join(', ');
    if (name === undefined) throw new UsageError(`no command given (commands: ${names})`);
    throw new UsageError(`unknown command "${name}" (commands: ${names})`);
  }
  const logFormat = (values['log-format'] as string | undefined) ?? 'auto';
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat))
    throw new UsageError(`--log-format: expected one of ${LOG_FORMATS.join(', ')}, found "${logFormat}"`);
  checkArguments(commands, command, values, positionals);
  const text = (key: string) => values[key] as string | undefined;
  return {
    command,
    context: {
      configPath: text('config') ?? env['BOOTSEQ_CONFIG'] ?? 'bootseq.yml',
      logFormat: logFormat as LogFormat,
      positionals,
      until: text('until') as Until | undefined,
      json: values['json'] === true,
      history: text('history'),
      fromBackup: text('from-backup'),
      into: text('into'),
      timestamp: text('timestamp'),
      postgresUrl: text('postgres-url'),
      socket: text('socket'),
      to: text('to'),
      fromLsn: text('from-lsn'),
      out: text('out'),
    },
  };
}

/** Refuses options the command does not take, values outside an option's choices, and positionals. */
function checkArguments(
  commands: readonly Command[],
  { spec }: Command,
  given: Readonly<Record<string, string | boolean | undefined>>,
  positionals: readonly string[],
): void {
  const help = `run \`bootseq help ${spec.name}\` for its usage and options`;
  for (const [option, value] of Object.entries(given)) {
    if (value === undefined || option in GLOBAL_OPTIONS) continue;
    const accepted = spec.options[option];
    if (!accepted) {
      const takers = commands.filter((c) => option in c.spec.options).map((c) => c.spec.name);
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
    throw new UsageError(`expected one ${takes.name}: bootseq ${spec.usage[0]?.synopsis ?? spec.name}`, help);
}
