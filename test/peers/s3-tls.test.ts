// An S3 replica behind TLS with a private CA, trusted through AWS_CA_BUNDLE, as a self-hoster's MinIO
// often is. bootseq passes AWS_CA_BUNDLE through to Litestream v0.3 (its AWS SDK v1 reads it); v0.5.17
// will not start an S3 replica while it is set (docs/litestream-v05.md C7), so bootseq's v0.5 driver
// gives it empty and the bundle as SSL_CERT_FILE, which Go's TLS reads instead (db/litestream/v5.ts,
// `environment`), even over an SSL_CERT_FILE already set (the system bundle, as this machine, CI and
// many images set it: Go reads one such file, and the system roots from folders). bootseq's own S3
// requests (the endpoint probe before a v0.5 restore, the listings for v0.5 files and mistyped replica
// paths: phases/restore/siblings.ts) trust the same bundles. Checked against a real endpoint, on each
// version (the peers and litestream5 projects): the demo replicates its four stores to an HTTPS MinIO
// whose certificate only the private CA signs; SIGTERM, exit 0; with its local files deleted, the next
// boot restores every note; no listing of bootseq's failed. Once with AWS_CA_BUNDLE alone, once with
// SSL_CERT_FILE set to the system bundle as well (before, v0.5 then failed after 222 s: x509).
//   And the control: the same boot without AWS_CA_BUNDLE is refused (exit 1) in the restore phase,
// naming the certificate, nothing started: nothing else (the system roots) made the CA trusted.
//
// This machine and CI set AWS_CA_BUNDLE and SSL_CERT_FILE globally (the system bundle): bootseq runs
// here under `env -u`, so that what it sees is exactly what each test gives it.

import fs from 'node:fs';
import { describe, expect } from 'vitest';
import { test } from '../helpers/fixtures.js';
import { postNotes } from '../helpers/notes.js';
import { litestreamSeries } from '../helpers/litestream.js';
import { READY, expectStoppedAtRestore, finished, processesIn, type TmpProject } from '../helpers/project.js';
import { s3Litestream, startS3Server, type S3Server } from '../helpers/s3.js';
import { countRows } from '../helpers/sqlite.js';

const TABLES = { primary: 'notes', queue: 'jobs', cache: 'cache_entries', cable: 'cable_messages' } as const;
const STORES = Object.keys(TABLES) as (keyof typeof TABLES)[];
const NOTES = 8;

/** bootseq's environment: the inherited one without AWS_CA_BUNDLE and SSL_CERT_FILE, plus `bundle`, `extra`. */
function bootseqIn(project: TmpProject, args: string[], bundle?: string, extra: Record<string, string> = {}) {
  const unset = [
    ...(extra['SSL_CERT_FILE'] === undefined ? ['SSL_CERT_FILE'] : []),
    ...(bundle === undefined ? ['AWS_CA_BUNDLE'] : []),
  ];
  return project.start(
    args,
    { ...(bundle === undefined ? {} : { AWS_CA_BUNDLE: bundle }), ...extra },
    // `env` execs bootseq: the PID the test holds is bootseq's.
    ['env', ...unset.flatMap((name) => ['-u', name])],
  );
}

/** The system's CA bundle (Debian's path; what this machine and CI set SSL_CERT_FILE to). */
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

function counts(project: TmpProject): Record<string, number> {
  return Object.fromEntries(
    STORES.map((store) => [store, countRows(project.path(`.demo/storage/${store}.sqlite3`), TABLES[store])]),
  );
}

/** A TLS MinIO with the bucket `demo`, stopped (by PID) and removed after `fn`. */
async function withTlsServer(fn: (s3: S3Server, caFile: string) => Promise<void>): Promise<void> {
  const s3 = await startS3Server({ tls: true });
  try {
    expect(s3.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await s3.createBucket('demo');
    await fn(s3, s3.caFile!);
  } finally {
    await s3.stop();
  }
}

describe('an S3 replica behind TLS with a private CA (AWS_CA_BUNDLE)', () => {
  const trusts = [
    { name: 'AWS_CA_BUNDLE alone', systemFile: false },
    { name: 'AWS_CA_BUNDLE with SSL_CERT_FILE set to the system bundle', systemFile: true },
  ];
  test.for(trusts)(
    '$name names the CA: the demo replicates over HTTPS, and a boot with its local files deleted restores every note',
    async (trust, { project }) => {
      await withTlsServer(async (s3, caFile) => {
        project.write({ 'litestream.yml': s3Litestream(s3) });
        const extra: Record<string, string> = trust.systemFile ? { SSL_CERT_FILE: SYSTEM_BUNDLE } : {};

        const boot = bootseqIn(project, ['up'], caFile, extra);
        await boot.waitForLine(READY, 60_000);
        await postNotes(project.port, NOTES, 'tls');
        await expect
          .poll(() => countRows(project.path('.demo/storage/cable.sqlite3'), 'cable_messages'), {
            timeout: 15_000,
          })
          .toBe(NOTES);
        process.kill(boot.pid, 'SIGTERM');
        const stopped = await finished(boot);
        expect(stopped.exitCode, stopped.output.slice(-3000)).toBe(0);
        expect(stopped.output).toContain(
          "litestream's final sync put every store's last writes in the replica",
        );
        expect(stopped.output).not.toMatch(/x509|certificate/i);
        // bootseq's own listings of the bucket (the checks for v0.5 files and for a mistyped replica
        // path) trust the bundle too.
        expect(stopped.output).not.toMatch(/could not look/);
        const before = counts(project);
        expect(before).toEqual({ primary: NOTES, queue: NOTES, cache: NOTES, cable: NOTES });

        fs.rmSync(project.path('.demo/storage'), { recursive: true });
        const again = bootseqIn(project, ['up'], caFile, extra);
        await again.waitForLine(READY, 60_000);
        expect(counts(project)).toEqual(before);
        const report = project.report();
        for (const store of STORES)
          expect(report.tasks.find((t) => t.id === `restore:${store}`)?.['restored']).toBe(true);
        process.kill(again.pid, 'SIGTERM');
        const second = await finished(again);
        expect(second.exitCode, second.output.slice(-3000)).toBe(0);
        expect(second.output).not.toMatch(/x509|certificate/i);
        expect(processesIn(project.dir)).toEqual([]);
      });
    },
  );

  test('without AWS_CA_BUNDLE the same boot is refused in the restore phase, naming the certificate; nothing started', async ({
    project,
  }) => {
    await withTlsServer(async (s3) => {
      project.write({ 'litestream.yml': s3Litestream(s3) });
      const started = Date.now();
      const result = await finished(bootseqIn(project, ['up']));
      const seconds = (Date.now() - started) / 1000;
      expect(result.exitCode, result.output.slice(-3000)).toBe(1);
      if (litestreamSeries() === '0.5') {
        // bootseq's own probe refuses first; v0.5's restore would retry for about 220 s before naming x509.
        expect(result.stderr).toMatch(
          /Error: restore:\w+ failed: the replica s3:\/\/demo\/\w+ at https:\/\/127\.0\.0\.1:\d+ of \w+ answers with a TLS certificate that is not trusted: unable to verify the first certificate/,
        );
        expect(result.stderr).toMatch(/Try: give the CA that signed it as AWS_CA_BUNDLE/);
      } else {
        // Litestream v0.3's restore, quoted.
        expect(result.stderr).toMatch(/Error: restore:\w+ failed: `litestream restore /);
        expect(result.stderr).toMatch(/x509: certificate signed by unknown authority/);
      }
      expect(seconds).toBeLessThan(15);
      expectStoppedAtRestore(project);
    });
  });
});
