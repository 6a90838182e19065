// Is the rig's S3 server faithful where Litestream depends on it? Litestream 0.3 lists generations and
// their files with ListObjectsV2 (a prefix, a `/` delimiter, pages), uploads snapshots through the AWS
// SDK's multipart uploader (parts of 5 MiB and up), and reads objects back. The s3rver npm package
// failed the first of these (issue 31); this checks each against the real server, as the SDK sends it.

import { randomBytes } from 'node:crypto';
import { describe, expect } from 'vitest';
import { xmlValues } from '../helpers/s3.js';
import { test } from '../helpers/fixtures.js';

describe('the S3 server of the peers rig', () => {
  test('ListObjectsV2: prefix and delimiter give common prefixes; max-keys pages with a continuation token', async ({
    s3,
  }) => {
    await s3.createBucket('fidelity');
    const keys = [
      'db/generations/0a/snapshots/00000000.snapshot.lz4',
      'db/generations/0a/wal/00000000/00000000.wal.lz4',
      'db/generations/0a/wal/00000000/00000001.wal.lz4',
      'db/generations/1b/snapshots/00000000.snapshot.lz4',
      'db2/generations/2c/snapshots/00000000.snapshot.lz4',
    ];
    for (const key of keys)
      expect((await s3.request('PUT', `/fidelity/${key}`, { body: key })).status).toBe(200);

    const generations = await s3.request('GET', '/fidelity', {
      query: { 'list-type': '2', prefix: 'db/generations/', delimiter: '/' },
    });
    expect(generations.status).toBe(200);
    expect(
      xmlValues(generations.text, 'Prefix').filter((p) => p.endsWith('/') && p !== 'db/generations/'),
    ).toEqual(['db/generations/0a/', 'db/generations/1b/']);
    expect(xmlValues(generations.text, 'Key')).toEqual([]);

    // Litestream's sibling folder (db2) is not under db/: a prefix is a string prefix plus the delimiter.
    const top = await s3.request('GET', '/fidelity', { query: { 'list-type': '2', delimiter: '/' } });
    expect(xmlValues(top.text, 'Prefix').filter((p) => p !== '')).toEqual(['db/', 'db2/']);

    const wal = await s3.request('GET', '/fidelity', {
      query: { 'list-type': '2', prefix: 'db/generations/0a/wal/00000000/' },
    });
    expect(xmlValues(wal.text, 'Key')).toEqual(keys.slice(1, 3));

    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await s3.request('GET', '/fidelity', {
        query: {
          'list-type': '2',
          prefix: 'db',
          'max-keys': '2',
          ...(token ? { 'continuation-token': token } : {}),
        },
      });
      pages.push(xmlValues(page.text, 'Key'));
      token =
        xmlValues(page.text, 'IsTruncated')[0] === 'true'
          ? xmlValues(page.text, 'NextContinuationToken')[0]
          : undefined;
    } while (token);
    expect(pages).toEqual([keys.slice(0, 2), keys.slice(2, 4), keys.slice(4)]);
  });

  test('a ranged GET answers 206 with exactly those bytes', async ({ s3 }) => {
    await s3.createBucket('ranges');
    const data = randomBytes(100_000);
    expect((await s3.request('PUT', '/ranges/object', { body: data })).status).toBe(200);
    const part = await s3.request('GET', '/ranges/object', { headers: { range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 1000-1999/100000');
    expect(part.body.equals(data.subarray(1000, 2000))).toBe(true);
    const tail = await s3.request('GET', '/ranges/object', { headers: { range: 'bytes=-10' } });
    expect(tail.body.equals(data.subarray(99_990))).toBe(true);
  });

  test('a multipart upload of two parts reads back as their concatenation; an unknown upload is refused', async ({
    s3,
  }) => {
    await s3.createBucket('multipart');
    const created = await s3.request('POST', '/multipart/big', { query: { uploads: '' } });
    expect(created.status).toBe(200);
    const uploadId = xmlValues(created.text, 'UploadId')[0]!;
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234)];
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const res = await s3.request('PUT', '/multipart/big', {
        query: { partNumber: String(i + 1), uploadId },
        body,
      });
      expect(res.status).toBe(200);
      etags.push(res.headers.get('etag')!);
    }
    const complete = `<CompleteMultipartUpload>${etags
      .map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    const done = await s3.request('POST', '/multipart/big', { query: { uploadId }, body: complete });
    expect(done.status, done.text).toBe(200);
    const read = await s3.request('GET', '/multipart/big');
    expect(read.body.equals(Buffer.concat(parts))).toBe(true);
    expect(read.headers.get('etag')).toMatch(/-2"$/); // a multipart ETag: the parts' digest, then -<count>
    const unknown = await s3.request('PUT', '/multipart/big', {
      query: { partNumber: '1', uploadId: 'no-such-upload' },
      body: 'x',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('NoSuchUpload');
  });

  test('wrong credentials and a missing bucket are refused with the S3 error codes the SDK reports', async ({
    s3,
  }) => {
    const wrong = await s3.request('GET', '/', { secretKey: 'not-the-secret' });
    expect(wrong.status).toBe(403);
    expect(wrong.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    const unknownKey = await s3.request('GET', '/', { accessKey: 'nobody' });
    expect(unknownKey.text).toContain('<Code>InvalidAccessKeyId</Code>');
    const missing = await s3.request('GET', '/no-such-bucket', { query: { 'list-type': '2' } });
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('<Code>NoSuchBucket</Code>');
  });
});
