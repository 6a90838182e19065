import { describe, expect, test } from 'vitest';
import { shellLine } from '../../../entrypoint/core/spawn.js';

describe('shellLine', () => {
  test.each([
    ['node web.js --port 3000', 'exec node web.js --port 3000'],
    ['bin/rails server -b "0.0.0.0"', 'exec bin/rails server -b "0.0.0.0"'],
    ['PORT=3 node web.js', 'PORT=3 exec node web.js'],
    ["A='x y' node web.js", "A='x y' node web.js"],
    ['cd app && node web.js', 'cd app && node web.js'],
    ['node a.js | tee log', 'node a.js | tee log'],
    ['exec node web.js', 'exec node web.js'],
    ['if true; then x; fi', 'if true; then x; fi'],
  ])('%s', (command, expected) => {
    expect(shellLine(command)).toBe(expected);
  });
});
