// Variations of the demo's bootseq.yml and litestream.yml for integration tests, edited as YAML
// documents (the `yaml` package's parseDocument, setIn, toString): comments, flow maps and `${…}`
// strings stay as written, and a key that is not where a helper expects it fails the test at once
// instead of an edit that silently matched nothing.

import fs from 'node:fs';
import path from 'node:path';
import { type Document, type Node, isMap, isSeq, parseDocument } from 'yaml';
import { REPO, type TmpProject } from './project.js';

export const FIXTURES = path.join(REPO, 'test/fixtures');

/** `node <repo>/test/fixtures/NAME args…` */
export function fixture(name: string, ...args: string[]): string {
  return ['node', path.join(FIXTURES, name), ...args].join(' ');
}

type Key = string | number;

/** Parses `file` in the project, lets `edit` change the document, writes it back. */
export function editYaml(project: TmpProject, file: string, edit: (doc: Document) => void): void {
  const doc = parseDocument(fs.readFileSync(project.path(file), 'utf8'));
  if (doc.errors.length > 0) throw new Error(`fixture: ${file} does not parse: ${doc.errors[0]?.message}`);
  edit(doc);
  project.write({ [file]: doc.toString({ lineWidth: 0, flowCollectionPadding: false }) });
}

/** A YAML node from text (`{ grace: 2s }`, an indented block), keeping its flow or block style. */
export function yamlNode(text: string): Node {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !doc.contents) throw new Error(`fixture: not YAML: ${text}`);
  return doc.contents as Node;
}

/** Throws unless the document has `at` (so that an edit never adds a key where none was meant). */
function expectIn(doc: Document, at: Key[], file = 'bootseq.yml'): void {
  if (!doc.hasIn(at)) throw new Error(`fixture: ${file} has no ${at.join('.')}`);
}

/**
 * Sets keys under `at` in bootseq.yml (`setIn(project, ['litestream'], { stall_timeout: '3s' })`);
 * `at` must exist. A string value is YAML text (`'{ grace: 2s }'`, `'3s'`).
 */
export function setKeys(
  project: TmpProject,
  at: Key[],
  keys: Record<string, unknown>,
  file = 'bootseq.yml',
): void {
  editYaml(project, file, (doc) => {
    if (at.length > 0) expectIn(doc, at, file);
    for (const [key, value] of Object.entries(keys))
      doc.setIn([...at, key], typeof value === 'string' ? yamlNode(value) : doc.createNode(value));
  });
}

/** Replaces the demo's processes (and shutdown settings) in the project's bootseq.yml. */
export function useProcesses(
  project: TmpProject,
  processes: string,
  shutdown = '{ grace: 2s, replication_grace: 10s }',
): void {
  editYaml(project, 'bootseq.yml', (doc) => {
    expectIn(doc, ['processes']);
    expectIn(doc, ['shutdown']);
    doc.set('processes', yamlNode(processes));
    doc.set('shutdown', yamlNode(shutdown));
  });
}

/** Replaces one store's migrate command. */
export function useMigrate(project: TmpProject, store: string, command: string): void {
  editYaml(project, 'bootseq.yml', (doc) => {
    expectIn(doc, ['stores', store, 'migrate']);
    doc.setIn(['stores', store, 'migrate'], yamlNode(`{ command: ${JSON.stringify(command)} }`));
  });
}

/** Adds (or replaces) keys in the demo's `litestream:` section: `{ stall_timeout: '3s' }`. */
export function useLitestream(project: TmpProject, keys: Record<string, unknown>): void {
  setKeys(project, ['litestream'], keys);
}

/** Adds a `services:` section (YAML text, `  redis: { url: …, wait: 2s }`) to the project's bootseq.yml. */
export function useServices(project: TmpProject, services: string): void {
  editYaml(project, 'bootseq.yml', (doc) => doc.set('services', yamlNode(services)));
}

/**
 * Replaces the file replica of `store` in the project's litestream.yml by an S3 replica at `endpoint`
 * (nothing behind it answers, in the tests that use it).
 */
export function useS3Replica(project: TmpProject, store: string, endpoint: string): void {
  editYaml(project, 'litestream.yml', (doc) => {
    const dbs = doc.get('dbs');
    const index = isSeq(dbs)
      ? dbs.items.findIndex((db) => isMap(db) && String(db.get('path')).endsWith(`/${store}.sqlite3`))
      : -1;
    if (index < 0) throw new Error(`fixture: litestream.yml has no database for ${store}`);
    expectIn(doc, ['dbs', index, 'replicas', 0], 'litestream.yml');
    doc.setIn(
      ['dbs', index, 'replicas', 0],
      doc.createNode({
        type: 's3',
        bucket: 'backups',
        path: store,
        endpoint,
        region: 'us-east-1',
        'force-path-style': true,
        'access-key-id': 'test',
        'secret-access-key': 'test',
      }),
    );
  });
}
