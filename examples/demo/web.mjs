// The demo's web process: GET /up (readiness), POST /notes writes a note to the primary store and
// enqueues a job in the queue store, GET /notes counts them. Each write is acknowledged only after
// its commit, so an acknowledged note is one Litestream must not lose. GET /readyz relays bootseq's
// own /readyz, because Kamal's proxy only probes the app's port (docker/kamal/config/deploy.yml).
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';

const storage = process.env.DEMO_STORAGE ?? '.demo/storage';
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1'; // 0.0.0.0 in a container
const open = (name) => {
  const db = new Database(path.join(storage, `${name}.sqlite3`), { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
};
const primary = open('primary');
const queue = open('queue');
const insertNote = primary.prepare('INSERT INTO notes (body) VALUES (?)');
const enqueue = queue.prepare('INSERT INTO jobs (kind, payload) VALUES (?, ?)');
const countNotes = primary.prepare('SELECT count(*) FROM notes').pluck();

// bootseq sets BOOTSEQ_HEALTH_URL for the processes it starts when its health server is on.
const healthUrl = process.env.BOOTSEQ_HEALTH_URL;

/**
 * bootseq's /readyz, status and body as bootseq said them; 503 when bootseq does not answer within
 * 2 s, so the caller (kamal-proxy waits 3 s, deploy.yml) gets an answer rather than a timeout.
 */
async function relayReadyz(res) {
  try {
    const answer = await fetch(`${healthUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    const body = await answer.text();
    res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(body);
  } catch (error) {
    res
      .writeHead(503, { 'content-type': 'text/plain' })
      .end(`bootseq health did not answer: ${error.message}\n`);
  }
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/up') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  if (req.method === 'GET' && req.url === '/readyz') {
    if (healthUrl) {
      void relayReadyz(res);
      return;
    }
    // No health server, nothing to relay: a 404 says so, where a 200 would claim a check nobody made.
    res.writeHead(404, { 'content-type': 'text/plain' }).end('BOOTSEQ_HEALTH_URL is not set\n');
    return;
  }
  if (req.url === '/notes' && req.method === 'POST') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const text = body.trim() || 'empty note';
      const { lastInsertRowid } = insertNote.run(text);
      enqueue.run('note-created', JSON.stringify({ id: Number(lastInsertRowid), body: text }));
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(`${JSON.stringify({ id: Number(lastInsertRowid) })}\n`);
    });
    return;
  }
  if (req.url === '/notes' && req.method === 'GET') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(`${JSON.stringify({ notes: countNotes.get() })}\n`);
    return;
  }
  res.writeHead(404).end('not found\n');
});

server.listen(port, host, () => {
  console.log(`web listening on http://127.0.0.1:${port} (POST /notes to write, GET /notes to count)`);
});

const stop = (signal) => {
  console.log(`web: ${signal}, closing`);
  server.close(() => {
    primary.close();
    queue.close();
    process.exit(0);
  });
  server.closeAllConnections();
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
