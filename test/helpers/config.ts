// Variations of the demo's bootseq.yml for integration tests.

import fs from 'node:fs';
import path from 'node:path';
import { REPO, type TmpProject } from './project.js';

export const FIXTURES = path.join(REPO, 'test/fixtures');

/** `node <repo>/test/fixtures/NAME args…` */
export function fixture(name: string, ...args: string[]): string {
  return ['node', path.join(FIXTURES, name), ...args].join(' ');
}

/** Replaces the demo's processes (and shutdown settings) in the project's bootseq.yml. */
export function useProcesses(
  project: TmpProject,
  processes: string,
  shutdown = '{ grace: 2s, replication_grace: 10s }',
): void {
  const text = fs.readFileSync(project.path('bootseq.yml'), 'utf8');
  const start = text.indexOf('processes:\n');
  const end = text.indexOf('shutdown:');
  if (start < 0 || end < 0)
    throw new Error('fixture: the demo bootseq.yml has no processes:/shutdown: section');
  const rest = text.slice(end).replace(/^shutdown:.*$/m, `shutdown: ${shutdown}`);
  project.write({
    'bootseq.yml': `${text.slice(0, start)}processes:\n${processes.replace(/^\n/, '')}${rest}`,
  });
}

/** Replaces one store's migrate command. */
export function useMigrate(project: TmpProject, store: string, command: string): void {
  const lines = fs.readFileSync(project.path('bootseq.yml'), 'utf8').split('\n');
  const at = lines.findIndex((l) => l.trim() === `${store}:`);
  const migrateAt = lines.findIndex((l, i) => i > at && l.trim().startsWith('migrate:'));
  if (at < 0 || migrateAt < 0) throw new Error(`fixture: no migrate for store ${store}`);
  lines[migrateAt] = `    migrate: { command: ${JSON.stringify(command)} }`;
  project.write({ 'bootseq.yml': lines.join('\n') });
}
