// The wording of schema problems: turns zod's issues into ConfigIssues that name the key path as
// written in bootseq.yml, what was expected and what was found. Only words; never decides validity
// (schema.ts does).

import type * as z from 'zod';
import type { ConfigIssue } from '../core/errors.js';

/** `stores.queue.after[0]`: a key path as the user reads it in bootseq.yml. */
export function formatPath(at: readonly PropertyKey[]): string {
  let out = '';
  for (const part of at) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

function valueAt(root: unknown, at: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const part of at) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[part];
  }
  return v;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

/** One zod issue as ConfigIssues (an unknown-keys issue becomes one per key); `root` is the input, to show what was found. */
export function fromZod(issue: z.core.$ZodIssue, root: unknown, file: string): ConfigIssue[] {
  const found = valueAt(root, issue.path);
  const at = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        file,
        path: formatPath([...issue.path, key]),
        message: `unknown key "${key}" (${issue.message})`,
      }));
    case 'invalid_type': {
      const expected = issue.message.startsWith('Invalid input')
        ? `expected ${describeType(issue.expected)}`
        : issue.message;
      return [
        {
          file,
          path: at,
          message: found === undefined ? `is required (${expected})` : `${expected}, found ${show(found)}`,
        },
      ];
    }
    case 'invalid_value':
      return [
        {
          file,
          path: at,
          message: issue.message.startsWith('Invalid')
            ? `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${show(found)}`
            : `${issue.message}, found ${show(found)}`,
        },
      ];
    case 'invalid_union':
      return [
        {
          file,
          path: at,
          message: `${issue.message.startsWith('Invalid') ? 'expected a value of another type' : issue.message}, found ${show(found)}`,
        },
      ];
    case 'invalid_key': {
      // A store or process name: say what a name may contain, with the name as written.
      const key = issue.path.at(-1);
      const why = issue.issues[0]?.message ?? 'expected a name of lowercase letters, digits, _ and -';
      return [
        {
          file,
          path: formatPath(issue.path.slice(0, -1)),
          message: `${JSON.stringify(String(key))} is not a valid name: ${why} (starting with a letter)`,
        },
      ];
    }
    case 'invalid_format':
    case 'too_small':
    case 'too_big':
      return [{ file, path: at, message: `${issue.message}, found ${show(found)}` }];
    default:
      return [{ file, path: at, message: issue.message }];
  }
}

function describeType(expected: string): string {
  switch (expected) {
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping';
    default:
      return `a ${expected}`;
  }
}
