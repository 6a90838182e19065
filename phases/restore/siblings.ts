// Before a sqlite store starts fresh because its replica holds nothing, a look one level up: a replica
// under a name close to the configured one (`primray` beside `primary`) means the path in litestream.yml
// has a typo, and starting empty would later retire the real backup (Litestream cannot tell "no backup
// yet" from "wrong path"). S3 replicas are listed with one signed ListObjectsV2 (delimiter `/`) on the
// parent prefix, then one small listing per sibling for the folders a replica holds (the driver's
// `backupFolders`: `generations/` in Litestream v0.3's layout); file replicas read the parent folder. A listing that fails never blocks the boot: a warning, and the
// fresh start goes on as before.

import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import type { LitestreamReplica, S3ReplicaLocation } from '../../config/schema.js';
import { withDeadline } from '../../core/wait.js';

/** Siblings checked for a replica's folders at most (likely typos first); the rest are only counted. */
const MAX_CHECKED = 50;
const LIST_TIMEOUT_MS = 10_000;

/** What one replica's parent holds beside it. */
export type SiblingLook =
  | {
      readonly kind: 'seen';
      /** Where the configured replica is, as the user wrote it (`s3://bucket/primray`, a folder). */
      readonly configured: string;
      /** Siblings that hold a replica, each as `where` names it; `typos` are the likely typos among them. */
      readonly replicas: readonly string[];
      readonly typos: readonly string[];
      /** Siblings not checked for a replica (past MAX_CHECKED). */
      readonly unchecked: number;
    }
  | { readonly kind: 'failed'; readonly configured: string; readonly reason: string }
  | { readonly kind: 'skipped' };

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and swaps of two adjacent
 * characters each count 1 (`primray` is 1 from `primary`).
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i += 1) {
    const row: number[] = [];
    for (let j = 0; j <= b.length; j += 1) {
      if (i === 0 || j === 0) {
        row.push(i + j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      row.push(d);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/**
 * Whether `sibling` is likely what `configured` meant to say: the same name but for slashes (a
 * trailing or doubled one) or case, or at most 2 edits away and at most a third of the configured
 * name's length. The same name is not a typo of itself, and names that differ only in their numbers
 * (`shard1` beside `shard2`, `app-v2` beside `app`) are numbered siblings, not typos.
 */
export function isLikelyTypo(configured: string, sibling: string): boolean {
  if (configured === sibling) return false;
  const squash = (s: string) => s.replace(/\/+/g, '/').replace(/^\/|\/$/g, '');
  const a = squash(configured).toLowerCase();
  const b = squash(sibling).toLowerCase();
  if (a === '' || b === '') return false;
  if (a === b) return true;
  if (a.replace(/\d+/g, '') === b.replace(/\d+/g, '')) return false;
  const d = editDistance(a, b);
  return d <= 2 && d <= a.length / 3;
}

/** The parent of a replica and its own name in it: `app/primray` → `app/`, `primray`. */
function splitPrefix(prefix: string): { parent: string; name: string } {
  const trimmed = prefix.replace(/\/+$/, '');
  const cut = trimmed.lastIndexOf('/');
  return { parent: trimmed.slice(0, cut + 1), name: trimmed.slice(cut + 1) };
}

/** Looks beside one replica; never throws. */
export async function lookBeside(
  replica: LitestreamReplica,
  folders: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  signal?: AbortSignal,
): Promise<SiblingLook> {
  if (replica.type === 'file' && replica.path) return lookBesideFolder(replica.path, folders);
  if (replica.type === 's3' && replica.s3) return lookBesideS3(replica.s3, folders, env, signal);
  return { kind: 'skipped' };
}

function lookBesideFolder(folder: string, folders: readonly string[]): SiblingLook {
  const parent = path.dirname(folder);
  const name = path.basename(folder);
  try {
    const entries = fs.readdirSync(parent, { withFileTypes: true });
    const replicas = entries
      .filter((e) => e.isDirectory() && e.name !== name)
      .filter((e) => holdsReplica(path.join(parent, e.name), folders))
      .map((e) => e.name)
      .sort();
    return {
      kind: 'seen',
      configured: folder,
      replicas: replicas.map((r) => path.join(parent, r)),
      typos: replicas.filter((r) => isLikelyTypo(name, r)).map((r) => path.join(parent, r)),
      unchecked: 0,
    };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A parent that does not exist holds no sibling: a new volume.
    if (code === 'ENOENT') return { kind: 'seen', configured: folder, replicas: [], typos: [], unchecked: 0 };
    return { kind: 'failed', configured: folder, reason: (error as Error).message };
  }
}

function holdsReplica(folder: string, folders: readonly string[]): boolean {
  return folders.some((name) => {
    try {
      return fs.readdirSync(path.join(folder, name)).length > 0;
    } catch {
      return false;
    }
  });
}

async function lookBesideS3(
  s3: S3ReplicaLocation,
  folders: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  signal?: AbortSignal,
): Promise<SiblingLook> {
  const configured = `s3://${s3.bucket}/${s3.path}`;
  const { parent, name } = splitPrefix(s3.path);
  // A replica at the bucket's root has no siblings.
  if (name === '') return { kind: 'skipped' };
  try {
    const client = createS3Lister(s3, env, signal);
    const prefixes = await client.list(parent, '/');
    const names = prefixes
      .filter((p) => p.endsWith('/'))
      .map((p) => p.slice(parent.length).replace(/\/$/, ''))
      .filter((n) => n !== '' && n !== name);
    // Likely typos first: they decide the boot; the others only name what was seen.
    const ordered = [
      ...names.filter((n) => isLikelyTypo(name, n)),
      ...names.filter((n) => !isLikelyTypo(name, n)),
    ];
    const checked = ordered.slice(0, MAX_CHECKED);
    const held = await Promise.all(
      checked.map(async (n) => {
        for (const folder of folders)
          if ((await client.list(`${parent}${n}/${folder}/`, '/', 1)).length > 0) return true;
        return false;
      }),
    );
    const replicas = checked.filter((_, i) => held[i]).sort();
    const where = (n: string) => `s3://${s3.bucket}/${parent}${n}`;
    return {
      kind: 'seen',
      configured,
      replicas: replicas.map(where),
      typos: replicas.filter((n) => isLikelyTypo(name, n)).map(where),
      unchecked: ordered.length - checked.length,
    };
  } catch (error) {
    return { kind: 'failed', configured, reason: (error as Error).message };
  }
}

/**
 * Which of `folders` a replica itself holds, not empty (a file replica's folders, an S3 replica's
 * prefixes `<path>/<folder>/`); `failed` when it cannot be listed. Never throws.
 */
export async function foldersIn(
  replica: LitestreamReplica,
  folders: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  signal?: AbortSignal,
): Promise<{ held: string[]; failed?: string }> {
  try {
    if (replica.type === 'file' && replica.path) {
      const root = replica.path;
      return { held: folders.filter((name) => holdsReplica(root, [name])) };
    }
    if (replica.type === 's3' && replica.s3) {
      const client = createS3Lister(replica.s3, env, signal);
      const root = replica.s3.path === '' ? '' : `${replica.s3.path.replace(/\/+$/, '')}/`;
      // One listing of the replica's root: its folders come back as common prefixes (S3 has no empty ones).
      const names = new Set(await client.list(root, '/'));
      return { held: folders.filter((folder) => names.has(`${root}${folder}/`)) };
    }
    return { held: [] };
  } catch (error) {
    return { held: [], failed: (error as Error).message };
  }
}

/**
 * Whether an S3 replica's endpoint answers at all (one ListObjectsV2 of one key, within
 * LIST_TIMEOUT_MS): `unreachable` only for a network failure or no answer (refused, unknown host,
 * reset, timeout); `untrusted` for a TLS certificate that none of the roots Litestream would trust
 * vouches for (extraCertificates); an answer of any status, or no
 * credentials to sign with, is `answered` or `unknown`: Litestream judges those itself, and loudly.
 * Never throws.
 */
export async function probeS3(
  replica: LitestreamReplica,
  env: Readonly<Record<string, string | undefined>>,
  signal?: AbortSignal,
): Promise<{ state: 'answered' } | { state: 'unreachable' | 'untrusted' | 'unknown'; reason: string }> {
  if (replica.type !== 's3' || !replica.s3) return { state: 'unknown', reason: 'not an S3 replica' };
  try {
    const client = createS3Lister(replica.s3, env, signal);
    await client.list(replica.s3.path === '' ? '' : `${replica.s3.path.replace(/\/+$/, '')}/`, '/', 1);
    return { state: 'answered' };
  } catch (error) {
    const err = error as Error & { cause?: { code?: string; message?: string } };
    if (signal?.aborted) return { state: 'unknown', reason: 'stopped' };
    if (err.name === 'AbortError' || err.name === 'TimeoutError')
      return { state: 'unreachable', reason: `no answer within ${LIST_TIMEOUT_MS / 1000} s` };
    if (err.cause?.code && CERTIFICATE_ERROR.test(err.cause.code))
      return { state: 'untrusted', reason: err.cause.message ?? err.cause.code };
    if (err.message === 'fetch failed' || err.cause?.code)
      return { state: 'unreachable', reason: err.cause?.message ?? err.cause?.code ?? err.message };
    return { state: 'unknown', reason: err.message };
  }
}

/**
 * ListObjectsV2 over fetch, signed with AWS Signature Version 4: endpoint, region, path style and
 * credentials as Litestream v0.3.13 takes them (the replica's keys, else LITESTREAM_ACCESS_KEY_ID /
 * LITESTREAM_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN).
 * `list` answers the common prefixes and keys under `prefix` (first page: enough to see a replica).
 */
function createS3Lister(
  s3: S3ReplicaLocation,
  env: Readonly<Record<string, string | undefined>>,
  signal?: AbortSignal,
) {
  const accessKey =
    s3.accessKeyId ?? env['LITESTREAM_ACCESS_KEY_ID'] ?? env['AWS_ACCESS_KEY_ID'] ?? undefined;
  const secretKey =
    s3.secretAccessKey ?? env['LITESTREAM_SECRET_ACCESS_KEY'] ?? env['AWS_SECRET_ACCESS_KEY'] ?? undefined;
  if (!accessKey || !secretKey) throw new Error('no credentials to list the bucket with');
  const token = s3.accessKeyId ? undefined : env['AWS_SESSION_TOKEN'] || undefined;
  const region = s3.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1';
  const base = new URL(s3.endpoint ?? `https://s3.${region}.amazonaws.com`);
  if (!/^https?:$/.test(base.protocol)) base.protocol = 'https:';
  const ca = extraCertificates(env);
  const pathStyle = s3.forcePathStyle ?? false;
  const host = pathStyle ? base.host : `${s3.bucket}.${base.host}`;
  const root = pathStyle ? `/${encode(s3.bucket)}` : '/';

  return {
    async list(prefix: string, delimiter: string, maxKeys = 1000): Promise<string[]> {
      const query = Object.entries({
        'list-type': '2',
        prefix,
        delimiter,
        'max-keys': String(maxKeys),
      })
        .map(([k, v]) => `${encode(k)}=${encode(v)}`)
        .sort()
        .join('&');
      const now = new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      const day = now.slice(0, 8);
      const payload = sha256('');
      const headers: Record<string, string> = {
        host,
        'x-amz-content-sha256': payload,
        'x-amz-date': now,
        ...(token ? { 'x-amz-security-token': token } : {}),
      };
      const names = Object.keys(headers).sort();
      const canonical = [
        'GET',
        root,
        query,
        names.map((n) => `${n}:${headers[n]!.trim()}\n`).join(''),
        names.join(';'),
        payload,
      ].join('\n');
      const scope = `${day}/${region}/s3/aws4_request`;
      const toSign = ['AWS4-HMAC-SHA256', now, scope, sha256(canonical)].join('\n');
      const key = hmac(hmac(hmac(hmac(`AWS4${secretKey}`, day), region), 's3'), 'aws4_request');
      const signature = createHmac('sha256', key).update(toSign).digest('hex');
      const { status, text } = await getWithin(
        `${base.protocol}//${host}${root}?${query}`,
        {
          ...Object.fromEntries(Object.entries(headers).filter(([n]) => n !== 'host')),
          authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
        },
        signal,
        ca,
      );
      if (status !== 200) {
        const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
        throw new Error(`ListObjectsV2 on ${s3.bucket} answered ${status}${code ? ` ${code}` : ''}`);
      }
      return listedNames(text);
    },
  };
}

/** Node's TLS error codes for a certificate it does not accept (untrusted, self-signed, expired, wrong name). */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/;

/**
 * The system's CA bundle where Go looks first (crypto/x509 root_linux.go), which both Litestreams
 * trust without being told: a private CA added with update-ca-certificates is in it, not in Node's.
 */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

/**
 * The roots a request to a replica trusts, so that bootseq's own look at the bucket trusts what
 * Litestream will: Node's, the system bundle Go reads, and the files in AWS_CA_BUNDLE (v0.3's AWS
 * SDK), SSL_CERT_FILE (v0.5, Go, gets the bundle there: db/litestream/v5.ts environment) and
 * NODE_EXTRA_CA_CERTS. Undefined (fetch's defaults) when none is a readable regular file.
 */
function extraCertificates(env: Readonly<Record<string, string | undefined>>): string[] | undefined {
  const system = SYSTEM_BUNDLES.find((file) => isRegularFile(file));
  const files = [
    ...new Set([system, env['AWS_CA_BUNDLE'], env['SSL_CERT_FILE'], env['NODE_EXTRA_CA_CERTS']]),
  ];
  const key = files.join('\0');
  if (!trusted.has(key)) trusted.set(key, readCertificates(files));
  return trusted.get(key);
}

/** The roots per set of files, read once per process (a boot lists each S3 replica a few times). */
const trusted = new Map<string, string[] | undefined>();

function readCertificates(files: readonly (string | undefined)[]): string[] | undefined {
  const extra = files.flatMap((file) => {
    if (!file || !isRegularFile(file)) return [];
    try {
      return [fs.readFileSync(file, 'utf8')];
    } catch {
      return [];
    }
  });
  return extra.length === 0 ? undefined : [...tls.rootCertificates, ...extra];
}

/** A regular file (not a FIFO that would block the read, not a folder). */
function isRegularFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * A GET and its body within LIST_TIMEOUT_MS, trusting `ca` when given (https; fetch cannot be given
 * roots on Node 20). Not AbortSignal.any([signal, AbortSignal.timeout(…)]): on Node 20 a GC can
 * collect the timeout (core/wait.ts). A network or TLS failure rejects with its code in `cause`.
 */
async function getWithin(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  ca?: string[],
): Promise<{ status: number; text: string }> {
  const deadline = withDeadline(signal ?? new AbortController().signal, LIST_TIMEOUT_MS);
  try {
    if (!ca || !url.startsWith('https:')) {
      const res = await fetch(url, { headers, signal: deadline.signal });
      return { status: res.status, text: await res.text() };
    }
    return await new Promise((resolve, reject) => {
      // A network or TLS failure as fetch gives it (`cause.code`), an abort as itself.
      const fail = (error: NodeJS.ErrnoException) =>
        reject(
          error.name === 'AbortError' || deadline.signal.aborted
            ? Object.assign(new Error('aborted'), { name: 'AbortError' })
            : Object.assign(new Error('request failed'), {
                cause: { code: error.code, message: error.message },
              }),
        );
      const req = https.get(url, { headers, ca, signal: deadline.signal }, (res) => {
        const chunks: Buffer[] = [];
        deadline.signal.addEventListener('abort', () => res.destroy(), { once: true });
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', fail);
        res.on('aborted', () => fail(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
      });
      req.on('error', fail);
    });
  } finally {
    deadline.dispose();
  }
}

/** ListObjectsV2's answer: its common prefixes, then its keys. */
function listedNames(text: string): string[] {
  const values = (tag: string) =>
    [...text.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => unescapeXml(m[1]!));
  const common = [...text.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)].flatMap((m) =>
    [...m[1]!.matchAll(/<Prefix>([^<]*)<\/Prefix>/g)].map((p) => unescapeXml(p[1]!)),
  );
  return [...common, ...values('Key')];
}

const encode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&');

/** Where a replica is, the way SiblingLook names the siblings: a folder, or `s3://bucket/prefix`. */
function whereIs(replica: LitestreamReplica): string | undefined {
  if (replica.type === 'file') return replica.path;
  if (replica.s3) return `s3://${replica.s3.bucket}/${replica.s3.path.replace(/\/+$/, '')}`;
  return undefined;
}

/**
 * Before a fresh start: refuses it (a message and hint the task reports) when a replica of a
 * likely-typo name sits beside one of the store's replicas, unless `allowFreshStart`. A sibling that
 * is the replica of another database in litestream.yml (`others`) is never a typo. Otherwise answers
 * the lines to log: the replicas seen beside, or why nothing could be listed.
 */
export async function checkFreshStart(options: {
  store: string;
  replicas: readonly LitestreamReplica[];
  others: readonly LitestreamReplica[];
  allowFreshStart: boolean;
  /** The folders a replica holds (the driver's `backupFolders`). */
  backupFolders: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal | undefined;
}): Promise<{
  refusal?: { message: string; hint: string };
  notes: { level: 'info' | 'warn'; text: string }[];
}> {
  const { store: storeName, allowFreshStart, env, signal } = options;
  const known = new Set(options.others.map(whereIs));
  const looks = await Promise.all(
    options.replicas.map((r) => lookBeside(r, options.backupFolders, env, signal)),
  );
  const notes: { level: 'info' | 'warn'; text: string }[] = [];
  for (const found of looks) {
    const look =
      found.kind === 'seen' ? { ...found, typos: found.typos.filter((t) => !known.has(t)) } : found;
    if (look.kind === 'failed') {
      notes.push({
        level: 'warn',
        text: `could not look beside ${look.configured} for a replica under a mistyped name (${look.reason}); starting fresh as the replica holds nothing`,
      });
      continue;
    }
    if (look.kind !== 'seen') continue;
    if (look.typos.length > 0) {
      const text = `${look.configured} holds no replica, but ${look.typos.join(' and ')} beside it does`;
      if (!allowFreshStart)
        return {
          notes,
          refusal: {
            message: `${text}: a typo in the replica path? Not starting ${storeName} empty`,
            hint: `fix the replica's path in litestream.yml to name ${look.typos[0]}, or, if ${storeName} is really new, set stores.${storeName}.restore.allow_fresh_start: true in bootseq.yml`,
          },
        };
      notes.push({
        level: 'warn',
        text: `${text}; starting fresh anyway (stores.${storeName}.restore.allow_fresh_start)`,
      });
      continue;
    }
    const more = look.unchecked > 0 ? ` (and ${look.unchecked} more not checked)` : '';
    notes.push({
      level: 'info',
      text:
        look.replicas.length > 0
          ? `replicas beside ${look.configured}: ${look.replicas.join(', ')}${more}; none has a name close to it`
          : `no replica beside ${look.configured}${more}`,
    });
  }
  return { notes };
}
