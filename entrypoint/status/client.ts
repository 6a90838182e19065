// `bootseq status`'s side of the control socket: one GET /status, with what went wrong in words when
// there is no answer (no socket: no bootseq runs there; a socket nothing accepts on: the bootseq that
// made it is gone).

import http from 'node:http';
import type { StatusSnapshot } from './live.js';

export type Asked =
  | { readonly kind: 'answered'; readonly snapshot: StatusSnapshot }
  /** Nobody there: no socket, or one left by a bootseq that is gone. */
  | { readonly kind: 'absent'; readonly why: string }
  /** Something is there but does not answer as bootseq does. */
  | { readonly kind: 'unanswered'; readonly why: string };

export function askStatus(socketPath: string, timeoutMs = 5000): Promise<Asked> {
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
