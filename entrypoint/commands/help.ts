// The help text, built from the commands' own specs: `bootseq --help` lists every usage line with its
// summary; `bootseq help COMMAND` prints that command's details and options. Text only: prints nothing.

import type { OptionSpec } from './context.js';
import type { Command } from './index.js';

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
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

export function helpText(commands: readonly Command[]): string {
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

export function commandHelp({ spec }: Command): string {
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
