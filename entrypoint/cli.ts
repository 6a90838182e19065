#!/usr/bin/env node
// argv → command. Answers --version before loading any command; `--help` comes from commands/help.ts
// and argv is checked by commands/args.ts, both from the commands' own specs (commands/index.ts),
// which load nothing heavy; a command's `run` loads what it needs. The sole owner of the exit code
// and of printing errors (`Error: …` then `Try: …`). On any exit, kills every process group bootseq
// started.

import { readFileSync } from 'node:fs';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../core/exit.js';
import { killAllGroups } from '../core/groups.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--version') || argv[0] === 'version') {
    process.stdout.write(`bootseq ${version()}\n`);
    return EXIT_OK;
  }
  const [{ COMMANDS }, { BootseqError, UsageError, escapeControl, escapeControlKeepingLines }, help, args] =
    await Promise.all([
      import('./commands/index.js'),
      import('../core/errors.js'),
      import('./commands/help.js'),
      import('./commands/args.js'),
    ]);
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    const topic = argv[0] === 'help' ? argv[1] : argv[0];
    const command = COMMANDS.find((c) => c.spec.name === topic);
    if (argv[0] === 'help' && topic !== undefined && !command) {
      const names = COMMANDS.map((c) => c.spec.name).join(', ');
      return fail(new UsageError(`unknown command "${topic}" (commands: ${names})`));
    }
    process.stdout.write(`${command ? help.commandHelp(command) : help.helpText(COMMANDS)}\n`);
    return argv.length === 0 ? EXIT_USAGE : EXIT_OK;
  }
  let logFormat = 'auto';
  try {
    const parsed = args.parseOptions(argv, COMMANDS);
    logFormat = String(parsed.values['log-format'] ?? 'auto');
    const { command, context } = args.resolveCommandLine(parsed, COMMANDS, process.env);
    return await command.run({
      ...context,
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
      // Foreign text in a message was escaped where it was quoted; this keeps any control byte that
      // slipped through (ESC, CR) off the terminal, and the message's own line breaks.
      process.stderr.write(
        `Error: ${escapeControlKeepingLines(error.message)}\n${error.hint ? `Try: ${escapeControl(error.hint)}\n` : ''}`,
      );
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
    process.exitCode = EXIT_FAILED;
    process.exit(EXIT_FAILED);
  });
