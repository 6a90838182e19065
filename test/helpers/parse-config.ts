// Config parsing for unit tests: a bootseq.yml text (without its `version: 1` line) parsed as if it
// sat in /p, against a fake disk, with PATH=/usr/bin plus `env`.
import { parseConfig, type ConfigFs } from '../../config/load.js';

export function parserOn(fs: ConfigFs) {
  return (text: string, env: Record<string, string> = {}) =>
    parseConfig(`version: 1\n${text}`, {
      file: 'bootseq.yml',
      dir: '/p',
      env: { PATH: '/usr/bin', ...env },
      fs,
    });
}
