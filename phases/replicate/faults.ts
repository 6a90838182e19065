// What Litestream's error lines mean for the operator. Every ERROR about a database (`sync error`,
// `monitor error`, `snapshotter error`, `retainer error`, `error closing db`) names a cause bootseq
// can tell apart and give fitting advice for; measured in docs/litestream.md Q9 (v0.3) and
// docs/litestream-v05.md C, D (v0.5: `monitor error … write ltx file`, `sync error … StatusCode: 403`,
// `… get credentials …`, `ensure wal exists`; an unreachable S3 logs nothing there). Words only: what to
// do about a fault (fail the boot, warn, restart) is decided by the callers.

import path from 'node:path';
import { describeMount } from '../../db/index.js';
import type { LitestreamLine } from '../../db/litestream/index.js';

/**
 * Lines that mean a database file was replaced under Litestream or its WAL is broken
 * (docs/litestream.md rule 3).
 */
export const REPLACED_LINE =
  /no such table: _litestream_seq|cannot verify wal state|wal (overwritten|truncated) by another process|ensure wal exists: disk I\/O error/;

/**
 * A line saying a database file was replaced under Litestream or its WAL is broken. Not at DEBUG:
 * v0.5 logs `sync … snap=true reason="wal truncated by another process"` there when it simply starts
 * over with a snapshot (after a restore, or bootseq's own connections: docs/litestream-v05.md D), and
 * v0.3 runs at INFO.
 */
export function isReplacedLine(line: LitestreamLine): boolean {
  return line.level !== 'DEBUG' && REPLACED_LINE.test(line.text);
}

export type FaultCause =
  | 'read-only'
  | 'disk-full'
  | 'unreachable'
  | 'credentials'
  | 'permission'
  | 'no-bucket'
  | 'replaced'
  | 'other';

export interface Fault {
  readonly cause: FaultCause;
  /** The next step, specific to the cause. */
  readonly advice: string;
}

const CAUSES: readonly { cause: FaultCause; pattern: RegExp }[] = [
  { cause: 'replaced', pattern: REPLACED_LINE },
  { cause: 'read-only', pattern: /read-only file system|readonly database|attempt to write a readonly/i },
  { cause: 'disk-full', pattern: /no space left on device|disk quota exceeded|database or disk is full/i },
  {
    cause: 'credentials',
    pattern:
      /NoCredentialProviders|InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|ExpiredToken|InvalidToken|Forbidden|status ?code: 403|get credentials/i,
  },
  { cause: 'no-bucket', pattern: /NoSuchBucket/ },
  {
    cause: 'unreachable',
    pattern:
      /connection refused|no such host|i\/o timeout|network is unreachable|connection reset|dial tcp|TLS handshake|context deadline exceeded/i,
  },
  { cause: 'permission', pattern: /permission denied|operation not permitted/i },
];

/** Litestream ERROR lines at shutdown that are not a failure: the final sync's checkpoint cancelled. */
export function isBenign(line: LitestreamLine): boolean {
  return /context canceled/.test(line.error ?? line.text);
}

/** An ERROR line worth acting on (WARN lines such as a cleared generation are routine). */
export function isErrorLine(line: LitestreamLine): boolean {
  return line.level === 'ERROR' && !isBenign(line);
}

/** The path a Go error names (`mkdir /data/replica/generations: read-only file system`), if any. */
function failingPath(line: LitestreamLine): string | undefined {
  return /(?:^|[\s"])(\/[^\s:"]+)/.exec(line.error ?? '')?.[1];
}

/** Whether `failing` is the database itself or what Litestream keeps beside it (-wal, .<db>-litestream). */
function isBesideDatabase(failing: string, dbPath: string): boolean {
  const meta = path.join(path.dirname(dbPath), `.${path.basename(dbPath)}-litestream`);
  return failing.startsWith(dbPath) || failing === meta || failing.startsWith(`${meta}/`);
}

/** The cause of an error line and what to do about it; `where` names the replica for the advice. */
export function classify(line: LitestreamLine, where: { dbPath?: string; replica?: string } = {}): Fault {
  const text = `${line.error ?? ''} ${line.text}`;
  const cause = CAUSES.find((c) => c.pattern.test(text))?.cause ?? 'other';
  const replica = where.replica ?? 'the replica';
  const file = where.dbPath ?? 'the database';
  const failing = failingPath(line);
  switch (cause) {
    case 'replaced':
      return {
        cause,
        advice:
          'something replaced a database file while Litestream replicates it; the replica may be stale or corrupt. Restart the container so bootseq restores, verifies and replicates again',
      };
    case 'read-only':
      // A path that is neither the database nor Litestream's copy beside it is the replica's (a file
      // replica on its own mount): naming the database's mount there sends the operator to the wrong volume.
      if (failing && where.dbPath && !isBesideDatabase(failing, where.dbPath))
        return {
          cause,
          advice: `${replica} cannot be written: ${failing} is on a read-only file system (mount ${describeMount(failing)}); mount it read-write, or point the replica elsewhere in litestream.yml`,
        };
      return {
        cause,
        advice: `${file} is on a read-only file system (mount ${describeMount(failing ?? file)}): Litestream writes its WAL copy beside the database (.<db>-litestream). Mount the volume read-write`,
      };
    case 'disk-full':
      return {
        cause,
        advice: `a file system is full (${/\/[^\s:"]*/.exec(line.error ?? '')?.[0] ?? replica}): free space on it or give it more; raising a timeout will not help`,
      };
    case 'credentials':
      return {
        cause,
        advice: `${replica} refused or got no credentials: give Litestream access-key-id and secret-access-key in litestream.yml (or LITESTREAM_ACCESS_KEY_ID / AWS_ACCESS_KEY_ID and the secret in the environment)`,
      };
    case 'no-bucket':
      return {
        cause,
        advice: `${replica} names a bucket that does not exist: create it or fix the bucket name`,
      };
    case 'unreachable':
      return {
        cause,
        advice: `${replica} cannot be reached: check its endpoint/URL in litestream.yml, the network and that the service is up`,
      };
    case 'permission':
      return {
        cause,
        advice: `permission denied: the user bootseq runs as must be able to write ${file}'s folder and ${replica}`,
      };
    case 'other':
      return { cause, advice: "read Litestream's line above: it names what failed" };
  }
}
