// `bootseq status`'s side of the control socket: one GET /status, with what went wrong in words when
// there is no answer (no socket: no bootseq runs there; a socket nothing accepts on: the bootseq that
// made it is gone). Never talks to a socket another user made, nor to anything that is not a socket:
// its answer would be that user's word, shown as bootseq's.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { escapeControl } from '../../core/errors.js';
import type { StatusSnapshot } from './live.js';

export type Asked =
  | { readonly kind: 'answered'; readonly snapshot: StatusSnapshot }
  /** Nobody there: no socket, or one left by a bootseq that is gone. */
  | { readonly kind: 'absent'; readonly why: string }
  /** Something is there but does not answer as bootseq does. */
  | { readonly kind: 'unanswered'; readonly why: string }
  /** Not asked: the path is not a socket, or another user's, or in a folder others may write to. */
  | { readonly kind: 'refused'; readonly why: string };

/**
 * Why the socket at the path must not be asked, or undefined: it must be a socket of this user, in a
 * folder of this user (or root's) that no one else may write to unless it is sticky (so nobody else
 * can swap it between this look and the connection).
 */
export function refuseSocket(socketPath: string, uid = process.getuid?.()): string | undefined {
  const shown = escapeControl(socketPath);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch {
    return undefined; // nothing there: the connection says so
  }
  if (!stat.isSocket()) return `${shown} is not a socket: not asked`;
  if (uid === undefined) return undefined;
  if (stat.uid !== uid)
    return `${shown} is a socket of uid ${stat.uid}, not of this user (uid ${uid}): not asked, its answer would be that user's word`;
  const dir = fs.statSync(path.dirname(socketPath));
  if (dir.uid !== uid && dir.uid !== 0)
    return `${shown} is in a folder of uid ${dir.uid}, who could replace it: not asked`;
  if ((dir.mode & 0o022) !== 0 && (dir.mode & 0o1000) === 0)
    return `${shown} is in a folder other users may write to (mode ${(dir.mode & 0o7777).toString(8).padStart(4, '0')}): not asked`;
  return undefined;
}

export function askStatus(socketPath: string, timeoutMs = 5000): Promise<Asked> {
  const refused = refuseSocket(socketPath);
  if (refused !== undefined) return Promise.resolve({ kind: 'refused', why: refused });
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/status', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
          resolve({ kind: 'answered', snapshot: JSON.parse(body) as StatusSnapshot });
        } catch (error) {
          resolve({ kind: 'unanswered', why: `${socketPath} ${(error as Error).message}` });
        }
      });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({
        kind: 'unanswered',
        why: `the bootseq on ${socketPath} did not answer within ${timeoutMs / 1000} s`,
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT')
        resolve({ kind: 'absent', why: `no bootseq is running here (no socket at ${socketPath})` });
      else if (error.code === 'ECONNREFUSED')
        resolve({
          kind: 'absent',
          why: `no bootseq is running here (${socketPath} was left by one that is gone)`,
        });
      else resolve({ kind: 'unanswered', why: `cannot ask ${socketPath}: ${error.message}` });
    });
  });
}
