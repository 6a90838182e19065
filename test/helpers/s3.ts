// A real S3 server for the peer tests: the peers rig's MinIO on a free port on 127.0.0.1, in a temp
// dir, stopped by its PID and removed by stop(). And a minimal S3 client (AWS Signature V4, path style)
// to create buckets and to check the server's fidelity without an SDK. With `tls: true` it answers
// HTTPS only, with a certificate for 127.0.0.1 signed by a private CA made for it (`caFile`).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { peerTool } from './peers.js';
import { freePort, isAlive } from './project.js';

export const REGION = 'us-east-1';

export interface S3Server {
  /** `http://127.0.0.1:PORT`, or `https://…` with `tls`. */
  readonly endpoint: string;
  /** With `tls`: the PEM file of the private CA that signed the server's certificate (no other CA does). */
  readonly caFile: string | undefined;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly pid: number;
  /** A signed request as this server's root user. */
  request(method: string, key: string, options?: RequestOptions): Promise<S3Response>;
  createBucket(bucket: string): Promise<void>;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and keeps its data: start() brings it back. */
  halt(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** halt(), then the data dir goes. */
  stop(): Promise<void>;
}

export interface RequestOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  accessKey?: string;
  secretKey?: string;
  /** PEM of the CA to trust for an https endpoint (instead of Node's own roots). */
  ca?: string;
}

export interface S3Response {
  status: number;
  headers: Headers;
  body: Buffer;
  text: string;
}

/**
 * A private CA and a server certificate signed by it for IP 127.0.0.1 and DNS localhost, made with the
 * `openssl` CLI in `dir`: `ca.crt`, and `certs/public.crt` + `certs/private.key` as MinIO's `--certs-dir`
 * wants them. Returns the CA's path and the certs folder.
 */
function makeCertificates(dir: string): { caFile: string; certsDir: string } {
  const certsDir = path.join(dir, 'certs');
  fs.mkdirSync(certsDir, { recursive: true });
  const at = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  // The CA: self-signed, CA:TRUE, allowed to sign certificates.
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.crt'),
    '-subj',
    '/CN=bootseq peers test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  // The server's key and certificate, signed by that CA. Go's TLS checks the subjectAltName only.
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    path.join(certsDir, 'private.key'),
    '-out',
    at('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  );
  fs.writeFileSync(
    at('server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    at('server.csr'),
    '-CA',
    at('ca.crt'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    at('server.ext'),
    '-out',
    path.join(certsDir, 'public.crt'),
  );
  return { caFile: at('ca.crt'), certsDir };
}

export async function startS3Server(options: { tls?: boolean } = {}): Promise<S3Server> {
  const minio = peerTool('s3');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bootseq-s3-'));
  const port = await freePort();
  let tls: { caFile: string; certsDir: string } | undefined;
  try {
    tls = options.tls ? makeCertificates(root) : undefined;
  } catch (error) {
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const ca = tls ? fs.readFileSync(tls.caFile, 'utf8') : undefined;
  const accessKey = 'bootseq-peers';
  const secretKey = 'bootseq-peers-secret';
  let child: ChildProcess | undefined;

  const start = async () => {
    const log = fs.openSync(path.join(root, 'server.log'), 'a');
    const args = ['server', '--quiet', '--address', `127.0.0.1:${port}`];
    if (tls) args.push('--certs-dir', tls.certsDir);
    child = spawn(minio, [...args, path.join(root, 'data')], {
      env: {
        ...process.env,
        MINIO_ROOT_USER: accessKey,
        MINIO_ROOT_PASSWORD: secretKey,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
        HOME: root,
      },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    const deadline = Date.now() + 30_000;
    let last = '';
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(
          `minio exited with ${child.exitCode}: ${fs.readFileSync(path.join(root, 'server.log'), 'utf8')}`,
        );
      try {
        // Ready means a signed ListBuckets answers 200: /minio/health/live answers while the server
        // is still initializing (503 XMinioServerNotInitialized to every S3 request).
        const res = await signedRequest(endpoint, 'GET', '/', { accessKey, secretKey, ca });
        if (res.status === 200) return;
      } catch (error) {
        // not listening yet (or, with tls, a certificate the client refuses: said at the deadline)
        last = `: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`;
      }
      if (Date.now() > deadline) throw new Error(`minio did not answer on ${endpoint} within 30 s${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const halt = async () => {
    const running = child;
    if (!running?.pid || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    process.kill(running.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (running.pid && isAlive(running.pid)) process.kill(running.pid, 'SIGKILL');
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await start();
  } catch (error) {
    await halt();
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const request = (method: string, key: string, options: RequestOptions = {}) =>
    signedRequest(endpoint, method, key, { accessKey, secretKey, ca, ...options });
  return {
    endpoint,
    caFile: tls?.caFile,
    accessKey,
    secretKey,
    get pid() {
      return child?.pid ?? -1;
    },
    request,
    async createBucket(bucket) {
      const res = await request('PUT', `/${bucket}`);
      if (res.status !== 200) throw new Error(`creating bucket ${bucket}: ${res.status} ${res.text}`);
    },
    halt,
    start,
    async stop() {
      try {
        await halt();
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** One S3 request signed with AWS Signature Version 4; `key` is `/bucket/object` (path style). */
export async function signedRequest(
  endpoint: string,
  method: string,
  key: string,
  options: RequestOptions & { accessKey: string; secretKey: string },
): Promise<S3Response> {
  const url = new URL(endpoint);
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
  const now = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = now.slice(0, 8);
  const payload = sha256(body);
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': payload,
    'x-amz-date': now,
    ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const names = Object.keys(headers).sort();
  const query = Object.entries(options.query ?? {})
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join('&');
  const canonicalPath = key.split('/').map(enc).join('/');
  const canonical = [
    method,
    canonicalPath,
    query,
    names.map((n) => `${n}:${headers[n]!.trim()}\n`).join(''),
    names.join(';'),
    payload,
  ].join('\n');
  const scope = `${day}/${REGION}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', now, scope, sha256(canonical)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${options.secretKey}`, day), REGION), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(toSign).digest('hex');
  const authorization = `AWS4-HMAC-SHA256 Credential=${options.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  const target = `${endpoint}${canonicalPath}${query ? `?${query}` : ''}`;
  const sendsBody = method !== 'GET' && method !== 'HEAD';
  // A private CA: node:https with `ca` (fetch cannot be given one without undici's Agent).
  if (options.ca !== undefined && url.protocol === 'https:')
    return httpsRequest(
      target,
      method,
      { ...headers, authorization },
      sendsBody ? body : undefined,
      options.ca,
    );
  // fetch sets Host itself (the same value, signed above).
  const sent = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'host'));
  const res = await fetch(target, {
    method,
    headers: { ...sent, authorization },
    body: sendsBody ? body : undefined,
  });
  const buffer = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body: buffer, text: buffer.toString('utf8') };
}

/** One request over node:https trusting only `ca`; answered in fetch's shape. */
function httpsRequest(
  target: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  ca: string,
): Promise<S3Response> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      target,
      { method, headers: body ? { ...headers, 'content-length': String(body.length) } : headers, ca },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const buffer = Buffer.concat(chunks);
          const answered = new Headers();
          for (const [name, value] of Object.entries(res.headers))
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
              answered.append(name, v);
          resolve({
            status: res.statusCode ?? 0,
            headers: answered,
            body: buffer,
            text: buffer.toString('utf8'),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The values of every `<tag>…</tag>` in an XML text, in order. */
export function xmlValues(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
}

/**
 * The demo's litestream.yml with each store's replica on `s3`: in `bucket` (default `demo`), under the
 * prefix `paths` gives it (default the store's name); `stores` beyond the demo's four may be added.
 */
export function s3Litestream(
  s3: S3Server,
  options: {
    bucket?: string;
    secretKey?: string;
    paths?: Record<string, string>;
    stores?: readonly string[];
  } = {},
): string {
  const stores = options.stores ?? ['primary', 'queue', 'cache', 'cable'];
  return `dbs:\n${stores
    .map(
      (store) =>
        `  - path: .demo/storage/${store}.sqlite3\n    replicas:\n      - type: s3\n        bucket: ${options.bucket ?? 'demo'}\n        path: ${options.paths?.[store] ?? store}\n        endpoint: ${s3.endpoint}\n        region: ${REGION}\n        force-path-style: true\n        access-key-id: ${s3.accessKey}\n        secret-access-key: ${options.secretKey ?? s3.secretKey}\n`,
    )
    .join('')}`;
}
