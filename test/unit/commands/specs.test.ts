// The command specs cli.ts builds `--help` and its argv checks from: each command's usage names every
// option and positional it declares, and an option two commands share means the same to the parser.

import { describe, expect, test } from 'vitest';
import { COMMANDS } from '../../../entrypoint/commands/index.js';

describe('command specs', () => {
  test('one spec per command name, each synopsis starting with it', () => {
    const names = COMMANDS.map((c) => c.spec.name);
    expect(new Set(names).size).toBe(names.length);
    for (const { spec } of COMMANDS) {
      expect(spec.usage.length).toBeGreaterThan(0);
      for (const { synopsis } of spec.usage) expect(synopsis.split(' ')[0]).toBe(spec.name);
    }
  });

  test.each(COMMANDS.map((c) => [c.spec.name, c.spec] as const))(
    '%s: its synopses name every option and positional it declares',
    (_name, spec) => {
      const synopses = spec.usage.map((u) => u.synopsis).join('\n');
      for (const [option, o] of Object.entries(spec.options)) {
        expect(synopses).toContain(`--${option}`);
        if (o.type === 'boolean') expect(o.value).toBeUndefined();
      }
      if (spec.positionals) expect(synopses).toContain(spec.positionals.name);
    },
  );

  test('an option several commands accept has the same type in each', () => {
    const types = new Map<string, string>();
    for (const { spec } of COMMANDS) {
      for (const [option, o] of Object.entries(spec.options)) {
        expect(types.get(option) ?? o.type, `--${option} in ${spec.name}`).toBe(o.type);
        types.set(option, o.type);
      }
    }
  });
});
