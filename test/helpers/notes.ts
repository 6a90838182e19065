// The demo's notes, written and counted the ways the integration tests and races need: through the web
// process (acknowledged by its 201 after the commit), by the test itself as the app, and in a real
// `litestream restore` of primary's replica.

import fs from 'node:fs';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import type { TmpProject } from './project.js';
import { countRows, restoreCopy } from './sqlite.js';

/** POSTs notes `from`…`from + count - 1` to the demo's web process on `port`, each answered 201. */
export async function postNotes(port: number, count: number, label = 'note', from = 0): Promise<number> {
  for (let i = from; i < from + count; i += 1) {
    const response = await fetch(`http://127.0.0.1:${port}/notes`, { method: 'POST', body: `${label} ${i}` });
    expect(response.status, `${label} ${i}`).toBe(201);
  }
  return count;
}

/** The notes in a restore of primary's replica as it is now (restored into a scratch path, then removed). */
export function replicaNotes(project: TmpProject): number {
  const scratch = project.path('restored');
  const out = `${scratch}/${Date.now()}.sqlite3`;
  try {
    return countRows(restoreCopy(project.dir, '.demo/storage/primary.sqlite3', out), 'notes');
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The bodies of the notes in a restore of primary's replica as it is now (a sound one: restoreCopy). */
export function replicaBodies(project: TmpProject): Set<string> {
  const scratch = project.path('restored');
  const out = `${scratch}/${Date.now()}.sqlite3`;
  try {
    const db = new Database(restoreCopy(project.dir, '.demo/storage/primary.sqlite3', out), {
      readonly: true,
    });
    try {
      return new Set(db.prepare('SELECT body FROM notes NOT INDEXED').pluck().all() as string[]);
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The test is the app: it writes notes into the primary store itself, acknowledged at commit. */
export function notesWriter(project: TmpProject) {
  let db: Database.Database | undefined;
  let written = 0;
  return {
    write(count: number, label: string): void {
      db ??= new Database(project.path('.demo/storage/primary.sqlite3'), { fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      const insert = db.prepare('INSERT INTO notes (body) VALUES (?)');
      for (let i = 0; i < count; i += 1) insert.run(`${label} ${i}`);
      written += count;
    },
    get written() {
      return written;
    },
    close(): void {
      db?.close();
      db = undefined;
    },
  };
}
