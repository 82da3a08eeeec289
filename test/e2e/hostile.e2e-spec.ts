// Thousands of generated hostile requests (fast-check) against a realistic tree of one tenant:
// odd, duplicate and oversized headers, weird encodings and paths, random queries, markers, ranges,
// lease ids, huge values, bodies where none belong, wrong methods, broken credentials. Most are
// correctly signed, so they get past authentication and reach the operations. For every answer:
// no 5xx, an x-ms-request-id, every error in Azure's shape (x-ms-error-code, and but for HEAD the
// XML <Error> whose Code is the same, as application/xml); and a refused request leaves the event
// store and the tenant's projections exactly as they were.
import {
  FileSASPermissions,
  generateFileSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-file-share';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Pool } from 'pg';
import { createIsolatedDatabase, removeQueue, uniqueQueuePrefix } from '../support/jobs';
import { startTestService, TestService } from '../support/service';
import { sharedKeySignature } from '../support/signed-request';
import { tenantDigest } from '../support/tenant-digest';

// A hang guard only: alone the whole file takes well under a minute, but it shares the machine with the other files.
jest.setTimeout(300_000);

const SHARE = 'hostile-share';
const LEASE = '5eb1e5e0-1ea5-4b1d-8eed-000000000001';
const GiB = 2 ** 30;
const DIRS = ['d1', 'd1/d2', 'üñí', 'a b'];
/** Files and their sizes; big.bin is sparse (a few bytes written, the rest reads as zeros). */
const FILES: Record<string, number> = {
  'd1/leased.txt': 300,
  'd1/plain.txt': 100,
  'd1/d2/deep.bin': 64,
  'üñí/ファイル.txt': 10,
  'a b/c%d.txt': 5,
  'd1/big.bin': 8 * GiB,
};
const LEASED = 'd1/leased.txt';
/** Open handles kept on these paths ('' is the share root). */
const HANDLES: Record<string, number> = { [LEASED]: 2, d1: 1, '': 1 };
/** A hostile Get File may name terabytes: read this much of any answer, then hang up. */
const MAX_READ = 1024 * 1024;

type Signer = { account: string; key: string };
type AuthMode =
  | 'key1'
  | 'key2'
  | 'none'
  | 'garbage'
  | 'scheme'
  | 'other-account'
  | 'wrong-key'
  | 'tampered'
  | 'other-query'
  | 'stale-date'
  | 'no-date'
  | 'dup-auth';
const SIGNED: AuthMode[] = ['key1', 'key2'];

interface Hostile {
  method: string;
  /** As it goes on the wire (percent-encoding included). $ACCOUNT, $OTHER, $HANDLE, $SESSION and $JOB (here and in the query and headers) are filled in when sent. */
  path: string;
  query: string;
  /** In order; names in any case; a name may repeat (sent as separate lines). */
  headers: [string, string][];
  body?: Buffer;
  auth: AuthMode;
  /** For auth 'garbage': the Authorization header sent. */
  garbage?: string;
}

interface Reply {
  status: number;
  header(name: string): string | undefined;
  body: string;
  truncated: boolean;
}

let database: { url: string; drop(): Promise<void> };
let prefix: string;
let service: TestService;
let db: Pool;
let H: { name: string; key1: string; key2: string };
let O: { name: string; key1: string; key2: string };
/** Live ids the generators refer to symbolically. */
const live = {
  handle: '0',
  session: '0',
  job: '00000000-0000-0000-0000-000000000000',
  snapshot: '2026-01-01T00:00:00.0000000Z',
};
let current: Record<string, string>;

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');
/** A path of the tree on the wire; $ACCOUNT (like $OTHER, $HANDLE, $SESSION, $JOB, $SNAPSHOT) is filled in when sent. */
const wire = (p = '') => `/$ACCOUNT/${SHARE}${p ? `/${encodePath(p)}` : ''}`;
const substitute = (s: string) =>
  s
    .replace(/\$ACCOUNT/g, H.name)
    .replace(/\$OTHER/g, O.name)
    .replace(/\$HANDLE/g, live.handle)
    .replace(/\$SESSION/g, live.session)
    .replace(/\$JOB/g, live.job)
    .replace(/\$SNAPSHOT/g, live.snapshot)
    .replace(/\$SOURCE/g, () => `${service.url}/${H.name}/${SHARE}/d1/plain.txt?${readSas()}`);

/** A read SAS for d1/plain.txt: a Put Range From URL source that verifies. */
const readSas = () =>
  generateFileSASQueryParameters(
    {
      shareName: SHARE,
      filePath: 'd1/plain.txt',
      permissions: FileSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    new StorageSharedKeyCredential(H.name, H.key1),
  ).toString();

/**
 * Sends one request like signed-request.ts's sendRaw (same string-to-sign), but keeps header names'
 * case and repeats, and reads at most MAX_READ bytes of the answer.
 */
function fire(r: Hostile): Promise<Reply> {
  const body = r.body ?? Buffer.alloc(0);
  const path = substitute(r.path);
  const query = substitute(r.query);
  const out: Record<string, string | string[]> = {
    'x-ms-date': new Date().toUTCString(),
    'x-ms-version': '2026-04-06',
    'x-ms-client-request-id': randomUUID(),
  };
  if (r.method === 'PUT' || body.length > 0) out['content-length'] = String(body.length);
  const given = new Set(r.headers.map(([n]) => n.toLowerCase()));
  for (const name of Object.keys(out)) if (given.has(name) && name !== 'content-length') delete out[name];
  for (const [name, raw] of r.headers) {
    const value = substitute(raw);
    const had = out[name];
    out[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
  }
  if (r.auth === 'stale-date') out['x-ms-date'] = new Date(Date.now() - 20 * 60_000).toUTCString();
  if (r.auth === 'no-date') delete out['x-ms-date'];
  // What the service sees: lowercase names, repeated lines joined by ', ' (as Node joins them).
  const seen: Record<string, string> = {};
  for (const [name, value] of Object.entries(out)) {
    const lower = name.toLowerCase();
    const joined = Array.isArray(value) ? value.join(', ') : value;
    seen[lower] = seen[lower] === undefined ? joined : `${seen[lower]}, ${joined}`;
  }
  const sign = (s: Signer, rawQuery = query) =>
    `SharedKey ${s.account}:${sharedKeySignature({ method: r.method, rawPath: path, rawQuery, headers: seen }, s.account, s.key)}`;
  const own = { account: H.name, key: H.key1 };
  switch (r.auth) {
    case 'key1':
    case 'stale-date':
    case 'no-date':
      out['authorization'] = sign(own);
      break;
    case 'key2':
      out['authorization'] = sign({ account: H.name, key: H.key2 });
      break;
    case 'garbage':
      out['authorization'] = r.garbage ?? '';
      break;
    case 'scheme': {
      const valid = sign(own).split(' ')[1];
      const variants = [
        `SharedKeyLite ${valid}`,
        `Bearer ${valid.split(':')[1]}`,
        `SharedKey ${H.name}`,
        `SharedKey :${valid.split(':')[1]}`,
        `SharedKey ${valid}!`,
        `SharedKey ${valid} extra`,
        'SharedKey',
      ];
      out['authorization'] = variants[body.length % variants.length];
      break;
    }
    case 'other-account':
      out['authorization'] = sign({ account: O.name, key: O.key1 });
      break;
    case 'wrong-key':
      out['authorization'] = sign({ account: H.name, key: O.key1 });
      break;
    case 'tampered':
      out['authorization'] = sign(own);
      out['x-ms-client-request-id'] = `${seen['x-ms-client-request-id'] ?? ''}-changed`;
      break;
    case 'other-query':
      out['authorization'] = sign(own, `${query}${query ? '&' : ''}signed=for-another-query`);
      break;
    case 'dup-auth':
      // Node keeps the first Authorization line.
      out['authorization'] = ['SharedKey nobody:AAAA', sign(own)];
      break;
    case 'none':
      break;
  }
  const url = new URL(service.url);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: r.method,
        path: query ? `${path}?${query}` : path,
        headers: out,
        agent: false,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let length = 0;
        let truncated = false;
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            header: (name) => {
              const value = res.headers[name.toLowerCase()];
              return Array.isArray(value) ? value.join(',') : value;
            },
            body: Buffer.concat(chunks).toString('utf8'),
            truncated,
          });
        res.on('data', (chunk: Buffer) => {
          if (truncated) return;
          chunks.push(chunk);
          length += chunk.length;
          if (length > MAX_READ) {
            truncated = true;
            res.destroy();
            done();
          }
        });
        res.on('end', () => !truncated && done());
        res.on('error', (e) => !truncated && reject(e));
      },
    );
    // The service may answer (413, 431) before it has read everything and close the connection.
    req.on('error', (e) => !answered && reject(e));
    req.end(body);
  });
}

/**
 * The tenant's digest, and the count of every event in the database: nothing may be written for
 * another tenant either (this database holds only this file's).
 */
async function snapshot(): Promise<Record<string, string>> {
  const { rows } = await db.query(`SELECT count(*)::text AS all_events FROM events`);
  return { ...(await tenantDigest(db, H.name)), all_events: rows[0].all_events };
}

/** A request the tree's upkeep needs; it must succeed. */
async function must(
  method: string,
  path: string,
  query: string,
  headers: [string, string][] = [],
  body?: Buffer,
): Promise<Reply> {
  const res = await fire({ method, path, query, headers, body, auth: 'key1' });
  if (res.status >= 300) throw new Error(`upkeep ${method} ${path}?${query} answered ${res.status}: ${res.body}`);
  return res;
}

/**
 * Brings the tree back to its shape after a hostile request succeeded (deleted the share or a file,
 * broke or changed the lease, closed handles, cancelled the job, resized a file): the generators
 * keep hitting real resources. Everything else a success changed is simply the new baseline.
 */
async function ensureTree(): Promise<void> {
  const share = await db.query(`SELECT share_id FROM shares WHERE tenant = $1 AND name = $2`, [H.name, SHARE]);
  if (!share.rowCount) await must('PUT', wire(), 'restype=share');
  const { rows } = await db.query(
    `SELECT n.path_key, n.kind, n.content_length::text, n.lease_state, n.lease_id::text FROM nodes n JOIN shares s ON s.share_id = n.share_id
     WHERE s.tenant = $1 AND s.name = $2`,
    [H.name, SHARE],
  );
  const nodes = new Map(rows.map((r) => [r.path_key, r]));
  for (const dir of DIRS) if (!nodes.has(dir.toLowerCase())) await must('PUT', wire(dir), 'restype=directory');
  for (const [file, size] of Object.entries(FILES)) {
    const node = nodes.get(file.toLowerCase());
    if (node && node.content_length === String(size)) continue;
    const lease: [string, string][] = node?.lease_state === 'leased' ? [['x-ms-lease-id', node.lease_id]] : [];
    await must('PUT', wire(file), '', [['x-ms-type', 'file'], ['x-ms-content-length', String(size)], ...lease]);
    await must(
      'PUT',
      wire(file),
      'comp=range',
      [['x-ms-range', 'bytes=0-4'], ['x-ms-write', 'update'], ...lease],
      Buffer.from('hello'),
    );
  }
  // LEASED is leased with LEASE, every other file is free: a hostile acquire, change or break is undone.
  const leases = await db.query(
    `SELECT n.path_key, n.lease_state, n.lease_id::text FROM nodes n JOIN shares s ON s.share_id = n.share_id WHERE s.tenant = $1 AND s.name = $2 AND n.kind = 'file'`,
    [H.name, SHARE],
  );
  for (const file of Object.keys(FILES)) {
    const lease = leases.rows.find((r) => r.path_key === file.toLowerCase());
    const wanted = file === LEASED;
    if (wanted && lease.lease_state === 'leased' && lease.lease_id === LEASE) continue;
    if (lease.lease_state === 'leased') await must('PUT', wire(file), 'comp=lease', [['x-ms-lease-action', 'break']]);
    if (lease.lease_state !== 'available')
      await must('PUT', wire(file), 'comp=lease', [
        ['x-ms-lease-action', 'release'],
        ['x-ms-lease-id', lease.lease_id],
      ]);
    if (wanted)
      await must('PUT', wire(file), 'comp=lease', [
        ['x-ms-lease-action', 'acquire'],
        ['x-ms-lease-duration', '-1'],
        ['x-ms-proposed-lease-id', LEASE],
      ]);
  }
  const open = await db.query(
    `SELECT h.node_key, h.handle_id::text, h.session_id::text FROM handles h JOIN shares s ON s.share_id = h.share_id WHERE s.tenant = $1 AND s.name = $2 ORDER BY h.handle_id`,
    [H.name, SHARE],
  );
  for (const [path, wanted] of Object.entries(HANDLES)) {
    const have = open.rows.filter((h) => h.node_key === path.toLowerCase()).length;
    for (let i = have; i < wanted; i++)
      await must('PUT', wire(path), 'comp=openhandle', [
        ['x-leasehold-client-ip', '10.0.0.7:445'],
        ['x-leasehold-client-name', 'hostile-fixture'],
      ]);
  }
  const handle = (
    await db.query(
      `SELECT h.handle_id::text, h.session_id::text FROM handles h JOIN shares s ON s.share_id = h.share_id WHERE s.tenant = $1 AND s.name = $2 AND h.node_key = $3 ORDER BY h.handle_id LIMIT 1`,
      [H.name, SHARE, LEASED],
    )
  ).rows[0];
  [live.handle, live.session] = [handle.handle_id, handle.session_id];
  // The share has a snapshot for the sharesnapshot reads to find (and, so, Delete Share needs x-ms-delete-snapshots).
  const snapshots = await db.query(
    `SELECT snapshots -> -1 ->> 'snapshot' AS name FROM shares WHERE tenant = $1 AND name = $2`,
    [H.name, SHARE],
  );
  live.snapshot =
    snapshots.rows[0].name ?? (await must('PUT', wire(), 'restype=share&comp=snapshot')).header('x-ms-snapshot')!;
  const job = await db.query(
    `SELECT job_id::text FROM jobs WHERE tenant = $1 AND state = 'queued' AND NOT cancel_requested ORDER BY created_at DESC LIMIT 1`,
    [H.name],
  );
  if (job.rowCount) live.job = job.rows[0].job_id;
  else {
    const res = await must('PUT', wire('d1'), 'comp=forceclosejob', [
      ['x-ms-handle-id', '*'],
      ['x-ms-recursive', 'true'],
      ['x-leasehold-idempotency-key', randomUUID()],
    ]);
    live.job = res.header('x-leasehold-job-id')!;
  }
}

// ---------------------------------------------------------------- generators

const latin1Char = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
  .map((c) => String.fromCharCode(c));
/** Header values Node will send: visible ASCII and Latin-1, no edge whitespace (the parser strips it, the signer would not). */
const latin1 = fc.string({ unit: latin1Char, maxLength: 40 }).map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ''));
const big = (min: number, max: number, ch = 'x') => fc.integer({ min, max }).map((n) => ch.repeat(n));

const guidish = fc.oneof(
  { weight: 3, arbitrary: fc.constant(LEASE) },
  fc.constantFrom(
    LEASE.toUpperCase(),
    `{${LEASE}}`,
    `(${LEASE})`,
    LEASE.replace(/-/g, ''),
    `{${LEASE}`,
    `${LEASE}}`,
    LEASE.slice(0, 35),
    `${LEASE}0`,
    '00000000-0000-0000-0000-000000000000',
    '{0x5eb1e5e0,0x1ea5,0x4b1d,{0x8e,0xed,0x00,0x00,0x00,0x00,0x00,0x01}}',
    'gggggggg-gggg-gggg-gggg-gggggggggggg',
    `${LEASE},${LEASE}`,
    '-',
    '',
  ),
  fc.uuid(),
  fc.uuid().map((u) => u.replace(/-/g, '').slice(0, 31)),
  latin1,
  big(100, 3000, 'f'),
);
const numberish = fc.oneof(
  fc.constantFrom(
    '-1',
    '0',
    '1',
    '5000',
    '5001',
    '4398046511104',
    '4398046511105',
    '9007199254740993',
    '99999999999999999999',
    '1.5',
    '0x10',
    '1e3',
    '+1',
    '',
    '\xb2',
    '00000000000000000000000001',
  ),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.nat().map(String),
);
const rangeish = fc.oneof(
  fc.constantFrom(
    'bytes=0-0',
    'bytes=0-',
    'bytes=-5',
    'bytes=5-1',
    'bytes=0-4194303',
    'bytes=0-4194304',
    'bytes=299-299',
    'bytes=300-300',
    'bytes=0-1,2-3',
    'bites=0-1',
    'bytes= 0-1',
    'bytes=1e3-2e3',
    'bytes=',
    '',
    'bytes=999999999999999-9999999999999999',
    'bytes=0-9007199254740993',
    `bytes=0-${8 * GiB - 1}`,
    `bytes=0-${4 * GiB}`,
    `bytes=${4 * GiB}-${8 * GiB - 1}`,
    `bytes=${8 * GiB - 10}-${8 * GiB - 1}`,
    `bytes=${8 * GiB}-${8 * GiB}`,
    `bytes=1048570-3145740`,
    'bytes=0-4,0-4',
    'bytes=0x0-0x4',
  ),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `bytes=${a}-${a + b}`),
  fc.tuple(fc.nat({ max: 8 * GiB }), fc.nat({ max: 8 * GiB })).map(([a, b]) => `bytes=${a}-${b}`),
);
const handleish = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('$HANDLE', '*') },
  fc.constantFrom(
    '0',
    '-1',
    '18446744073709551615',
    '18446744073709551616',
    '9223372036854775807',
    '9223372036854775808',
    '1'.repeat(30),
    'abc',
    '**',
    '',
    '$HANDLE,$HANDLE',
    '0x1',
    ' *',
  ),
  fc.bigInt({ min: 0n, max: 2n ** 64n + 5n }).map(String),
);
/** Source URLs (rename, copy): the tree's own paths, absolute or not, other accounts and shares, broken URLs. */
const sourceish = fc.oneof(
  fc.constantFrom(
    ...[...Object.keys(FILES), ...DIRS].map((p) => `http://127.0.0.1:1/$ACCOUNT/${SHARE}/${encodePath(p)}`),
  ),
  fc.constantFrom(
    `/$ACCOUNT/${SHARE}/d1/plain.txt`,
    `http://127.0.0.1:1/$OTHER/${SHARE}/d1/plain.txt`,
    `http://127.0.0.1:1/$ACCOUNT/no-such-share/x`,
    `http://127.0.0.1:1/$ACCOUNT/${SHARE}`,
    `http://127.0.0.1:1/$ACCOUNT/${SHARE}/d1/%`,
    'http://[bad',
    'not a url',
    '',
    `http://127.0.0.1:1/$ACCOUNT/${SHARE}/d1/plain.txt?sv=x&sig=y`,
    `http://127.0.0.1:1/$ACCOUNT/${SHARE}/${'a/'.repeat(300)}x`,
  ),
  latin1,
);
const md5ish = fc.oneof(
  fc.constantFrom('XrY7u+Ae7tCTyyK7j1rNww==', 'not base64', '', 'AAAA', '==', 'XrY7u+Ae7tCTyyK7j1rNww'),
  latin1,
);
const HEADER_VALUES: [string, fc.Arbitrary<string>][] = [
  ['x-ms-lease-id', guidish],
  ['x-ms-proposed-lease-id', guidish],
  [
    'x-ms-lease-action',
    fc.oneof(
      fc.constantFrom('acquire', 'change', 'release', 'break', 'ACQUIRE', 'Break', 'renew', '', 'acquire, break'),
      latin1,
    ),
  ],
  [
    'x-ms-lease-duration',
    fc.constantFrom('-1', '15', '60', '0', '-2', 'infinite', '', '99999999999999999999', '-1, -1'),
  ],
  ['x-ms-lease-break-period', numberish],
  ['x-ms-range', rangeish],
  ['range', rangeish],
  ['x-ms-range-get-content-md5', fc.constantFrom('true', 'false', 'TRUE', 'maybe', '')],
  ['x-ms-content-length', numberish],
  ['x-ms-type', fc.constantFrom('file', 'File', 'FILE', 'directory', '', 'file, file')],
  ['x-ms-write', fc.constantFrom('update', 'clear', 'UPDATE', 'Clear', '', 'delete')],
  ['x-ms-share-quota', numberish],
  [
    'x-ms-access-tier',
    fc.constantFrom('Hot', 'Cool', 'TransactionOptimized', 'hot', 'Premium', 'Archive', '', 'Hot, Cool'),
  ],
  [
    'x-ms-copy-source',
    fc.oneof(
      { weight: 3, arbitrary: fc.constant('$SOURCE') },
      fc.constantFrom(
        '',
        'not a url',
        'http://',
        '/relative/path',
        'http://127.0.0.1:1/$OTHER/s/f?sv=2026-04-06&sr=f&sp=r&se=2099-01-01&sig=AAAA',
        'ftp://x/$ACCOUNT/hostile-share/d1/plain.txt',
      ),
      latin1.map(
        (v) =>
          `http://127.0.0.1/$ACCOUNT/${SHARE}/${encodeURIComponent(v)}?sv=2026-04-06&sr=f&sp=r&se=2099-01-01&sig=AAAA`,
      ),
    ),
  ],
  ['x-ms-source-range', rangeish],
  ['x-ms-copy-source-authorization', fc.oneof(fc.constantFrom('Bearer x', 'SharedKey a:b', ''), latin1)],
  ['origin', fc.oneof(fc.constantFrom('https://app.example', '*', 'null', ''), latin1)],
  ['access-control-request-method', fc.constantFrom('GET', 'PUT', 'get', 'FETCH', '', 'GET, PUT')],
  [
    'access-control-request-headers',
    fc.oneof(fc.constantFrom('x-ms-version', 'x-ms-meta-a,content-type', ',,', ''), latin1),
  ],
  ['x-ms-handle-id', handleish],
  ['x-ms-recursive', fc.constantFrom('true', 'false', 'TRUE', 'False', 'yes', '1', '0', '', 'true, true')],
  [
    'x-ms-version',
    fc.constantFrom(
      '2026-04-06',
      '2019-02-02',
      '9999-99-99',
      '2026-4-6',
      '',
      'latest',
      '2026-04-06, 2026-04-06',
      'x'.repeat(300),
    ),
  ],
  [
    'x-ms-date',
    fc.constantFrom(
      '',
      'yesterday',
      'Thu, 01 Jan 1970 00:00:00 GMT',
      'Fri, 31 Dec 9999 23:59:59 GMT',
      '2026-01-01T00:00:00Z',
    ),
  ],
  ['x-ms-share-quota', numberish],
  ['x-ms-content-md5', md5ish],
  ['content-md5', md5ish],
  ['x-ms-content-type', latin1],
  ['x-ms-content-encoding', latin1],
  ['x-ms-content-language', latin1],
  ['x-ms-cache-control', latin1],
  ['x-ms-content-disposition', fc.oneof(latin1, big(1000, 9000))],
  ['x-ms-file-attributes', fc.constantFrom('None', 'ReadOnly|Hidden', 'Directory', 'Bogus', '')],
  ['x-ms-file-permission', fc.oneof(fc.constantFrom('inherit', 'O:BAG:BAD:(A;;FA;;;SY)', ''), big(1000, 9000))],
  ['x-ms-allow-trailing-dot', fc.constantFrom('true', 'false', 'yes')],
  ['x-ms-client-request-id', fc.oneof(latin1, big(1020, 1030, 'r'))],
  [
    'x-leasehold-client-ip',
    fc.oneof(
      fc.constantFrom('10.0.0.1:445', '::1', '[::1]:445', 'not-an-ip', '1.2.3.4:99999', '', '1'.repeat(65)),
      latin1,
    ),
  ],
  ['x-leasehold-client-name', fc.oneof(latin1, big(250, 300, 'n'))],
  ['x-leasehold-session-id', fc.oneof(fc.constant('$SESSION'), handleish)],
  ['x-leasehold-handle-id', handleish],
  [
    'x-leasehold-access',
    fc.constantFrom(
      'Read',
      'Write',
      'Delete',
      'Read,Write',
      'read, write',
      'Execute',
      '',
      ',',
      'Read,,Write',
      'READ',
      'Read,Read',
    ),
  ],
  ['x-ms-file-rename-source', sourceish],
  ['x-ms-copy-source', sourceish],
  ['x-ms-copy-action', fc.constantFrom('abort', 'Abort', 'stop', '')],
  ['x-ms-file-rename-replace-if-exists', fc.constantFrom('true', 'false', 'TRUE', 'yes', '')],
  ['x-ms-delete-snapshots', fc.oneof(fc.constantFrom('include', 'include-leased', 'INCLUDE', 'all', ''), latin1)],
  ['x-ms-file-rename-ignore-readonly', fc.constantFrom('true', 'false', 'no', '')],
  ['x-ms-source-lease-id', guidish],
  ['x-ms-destination-lease-id', guidish],
  ['x-leasehold-idempotency-key', fc.oneof(latin1, big(250, 300, 'k'), fc.constant(''))],
  [
    'content-type',
    fc.constantFrom(
      'application/octet-stream',
      'application/json',
      'text/plain; charset=utf-8',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
      'application/xml',
    ),
  ],
];
/** Metadata: valid and invalid C# identifiers, duplicates in other case, big values. */
const metaName = fc.oneof(
  fc.constantFrom('a', 'Owner', 'owner', 'OWNER', '_x', '1abc', 'a-b', 'a.b', 'a$b', ''),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/),
);
const metaEntry = fc
  .tuple(metaName, fc.oneof(latin1, big(2000, 9000, 'm')))
  .map(([n, v]): [string, string] => [`x-ms-meta-${n}`, v]);
const headerEntry = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.oneof(...HEADER_VALUES.map(([name, value]) => value.map((v): [string, string] => [name, v]))),
  },
  { weight: 1, arbitrary: metaEntry },
);
/** Header names as sent: mostly lowercase, sometimes upper or mixed case (Node passes them on as given). */
const headerList = fc
  .array(fc.tuple(headerEntry, fc.constantFrom(0, 0, 0, 1, 2)), { maxLength: 6 })
  .map((entries) =>
    entries.map(([[name, value], casing]): [string, string] => [
      casing === 1 ? name.toUpperCase() : casing === 2 ? name.replace(/(^|-)(\w)/g, (m) => m.toUpperCase()) : name,
      value,
    ]),
  );
/** Now and then the same header twice, with two different values. */
const headers = fc.oneof(
  { weight: 4, arbitrary: headerList },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        headerList,
        fc.oneof(
          ...HEADER_VALUES.map(([name, value]) =>
            fc.tuple(value, value).map(([a, b]): [string, string][] => [
              [name, a],
              [name, b],
            ]),
          ),
        ),
      )
      .map(([l, d]) => [...l, ...d]),
  },
);

type Kind = 'account' | 'share' | 'dir' | 'file' | 'node' | 'any';
const OPS: [string, string, Kind][] = [
  ['PUT', 'restype=share', 'share'],
  ['GET', 'restype=share', 'share'],
  ['DELETE', 'restype=share', 'share'],
  ['PUT', 'restype=share&comp=lease', 'share'],
  ['PUT', 'restype=directory', 'dir'],
  ['GET', 'restype=directory', 'dir'],
  ['PUT', 'restype=directory&comp=metadata', 'dir'],
  ['PUT', 'restype=directory&comp=properties', 'dir'],
  ['DELETE', 'restype=directory', 'dir'],
  ['GET', 'restype=directory&comp=list', 'dir'],
  ['PUT', '', 'file'],
  ['PUT', 'comp=range', 'file'],
  ['PUT', 'comp=metadata', 'file'],
  ['PUT', 'comp=properties', 'file'],
  ['DELETE', '', 'file'],
  ['HEAD', '', 'file'],
  ['GET', '', 'file'],
  ['PUT', 'comp=lease', 'file'],
  ['GET', 'comp=metadata', 'file'],
  ['HEAD', 'comp=metadata', 'file'],
  ['GET', 'comp=rangelist', 'file'],
  ['PUT', 'comp=rename', 'file'],
  ['PUT', 'restype=directory&comp=rename', 'dir'],
  ['PUT', 'comp=copy&copyid=00000000-0000-0000-0000-000000000001', 'file'],
  ['GET', 'comp=listhandles', 'node'],
  ['PUT', 'comp=forceclosehandles', 'node'],
  ['PUT', 'comp=openhandle', 'node'],
  ['PUT', 'comp=closehandle', 'node'],
  ['PUT', 'comp=forceclosejob', 'node'],
  ['GET', 'comp=forceclosejob&jobid=$JOB', 'account'],
  ['DELETE', 'comp=forceclosejob&jobid=$JOB', 'account'],
  ['GET', 'comp=forceclosejobs', 'account'],
  ['GET', 'comp=auditevents', 'any'],
  ['GET', 'comp=leasehistory', 'node'],
  ['GET', 'comp=stateasof&at=2030-01-01T00:00:00Z', 'node'],
  ['GET', 'comp=auditexport', 'any'],
  ['GET', 'comp=list', 'account'],
  ['GET', 'restype=service&comp=properties', 'account'],
  ['PUT', 'restype=service&comp=properties', 'account'],
  ['GET', 'restype=share&comp=metadata', 'share'],
  ['PUT', 'restype=share&comp=metadata', 'share'],
  ['PUT', 'restype=share&comp=properties', 'share'],
  ['GET', 'restype=share&comp=acl', 'share'],
  ['PUT', 'restype=share&comp=acl', 'share'],
  ['GET', 'restype=share&comp=stats', 'share'],
  ['PUT', 'restype=share&comp=snapshot', 'share'],
  ['GET', 'restype=share&sharesnapshot=$SNAPSHOT', 'share'],
  ['GET', 'restype=share&comp=metadata&sharesnapshot=$SNAPSHOT', 'share'],
  ['DELETE', 'restype=share&sharesnapshot=$SNAPSHOT', 'share'],
  ['GET', 'sharesnapshot=$SNAPSHOT', 'file'],
  ['HEAD', 'sharesnapshot=$SNAPSHOT', 'file'],
  ['GET', 'comp=rangelist&sharesnapshot=$SNAPSHOT', 'file'],
  ['GET', 'comp=rangelist&prevsharesnapshot=$SNAPSHOT', 'file'],
  ['GET', 'restype=directory&comp=list&sharesnapshot=$SNAPSHOT', 'dir'],
  ['GET', 'restype=directory&sharesnapshot=$SNAPSHOT', 'dir'],
  ['GET', 'comp=listhandles&sharesnapshot=$SNAPSHOT', 'node'],
  ['PUT', 'comp=forceclosehandles&sharesnapshot=$SNAPSHOT', 'node'],
  ['PUT', 'comp=range&sharesnapshot=$SNAPSHOT', 'file'],
];

/** Real paths of each kind (and a few that name nothing), built once the tenant exists. */
function pathsOf(kind: Kind): string[] {
  const account = ['/$ACCOUNT'];
  const dirs = [wire(), ...DIRS.map(wire), wire('nope')];
  const files = [...Object.keys(FILES).map(wire), wire('d1/nope.txt'), wire('nope/x.txt')];
  const byKind = {
    account,
    share: [wire(), '/$ACCOUNT/no-such-share'],
    dir: dirs,
    file: files,
    node: [...dirs, ...files],
    any: [...account, ...dirs, ...files],
  };
  return byKind[kind];
}
const realOp = () =>
  fc
    .constantFrom(...OPS)
    .chain(([method, query, kind]) => fc.constantFrom(...pathsOf(kind)).map((path) => ({ method, query, path })));
const signedAuth = fc.constantFrom<AuthMode>(...SIGNED);
const smallBody = fc.option(
  fc.uint8Array({ maxLength: 700 }).map((b) => Buffer.from(b)),
  { freq: 3 },
);

/** Raw URL characters: visible ASCII, and now and then a raw Latin-1 byte (which HTTP parsers refuse). */
const urlChar = (exclude: string) =>
  fc
    .oneof(
      { weight: 60, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
      { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
    )
    .filter((c) => !exclude.includes(String.fromCharCode(c)))
    .map((c) => String.fromCharCode(c));
const hostileSegment = fc.oneof(
  fc.constantFrom(
    '%',
    '%0',
    '%00',
    '%2F',
    '%2f',
    '%5C',
    '..',
    '.',
    '%2E%2E',
    '%2e',
    '%C0%AF',
    '%ED%A0%80',
    '%EF%BF%BE',
    '%EF%BF%BF',
    '%FF',
    '%C3%28',
    'CON',
    'nul',
    'LPT1',
    'COM9',
    'CLOCK$',
    'con.txt',
    'a.',
    'a...',
    '%20',
    '%20a%20',
    '~',
    '%25',
    'a%3Fb',
    '%3F',
    '%23',
    ';',
    'a:b',
    '%22',
    '%3C%3E',
    '%7C',
    '*',
    '%2A',
    '%E2%80%AE',
    '%EE%80%80',
    '%F0%9F%92%A9',
    '\xfc',
    '\xff',
    'd1',
    'leased.txt',
    'LEASED.TXT',
    'D1',
  ),
  big(250, 260, 'a'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map(encodeURIComponent),
  fc.string({ unit: urlChar('/?#'), minLength: 1, maxLength: 12 }),
);
const hostilePath = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...['', 'd1', 'd1/d2', 'üñí'].map((p) => wire(p))),
        fc.array(hostileSegment, { minLength: 1, maxLength: 4 }),
      )
      .map(([base, segments]) => `${base}/${segments.join('/')}`),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      ...[
        `/${'$ACCOUNT'}//d1`,
        `/$ACCOUNT/${SHARE}//d1`,
        `/$ACCOUNT/${SHARE}/d1//leased.txt`,
        `/$ACCOUNT/${SHARE}/`,
        '/$ACCOUNT/',
        '/',
        '//',
        '///',
        `/$ACCOUNT/${SHARE}/d1/`,
        `/$ACCOUNT/${SHARE}/./d1`,
        `/$ACCOUNT/${SHARE}/d1/../d1/leased.txt`,
        `/$ACCOUNT/${SHARE.toUpperCase()}`,
        '/$ACCOUNT/ab',
        '/$ACCOUNT/a--b',
        '/$ACCOUNT/-ab',
        `/$ACCOUNT/${'s'.repeat(64)}`,
        `/nosuchaccount1/${SHARE}`,
        `/$OTHER/${SHARE}`,
        '/%',
        `/$ACCOUNT%2F${SHARE}`,
        `/$ACCOUNT/${SHARE}/d1%2Fleased.txt`,
        `/$ACCOUNT/${SHARE}/d1%5Cleased.txt`,
        `/$ACCOUNT/${SHARE}/%64%31/leased.txt`,
        '/$ACCOUNT/%00',
        '/%00/x',
      ],
    ),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 248, max: 253 }).map((n) => `/$ACCOUNT/${SHARE}/${Array(n).fill('x').join('/')}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 8, max: 11 })
      .map((n) => `/$ACCOUNT/${SHARE}/${Array(n).fill('y'.repeat(250)).join('/')}`),
  },
  { weight: 1, arbitrary: fc.constant(`/$ACCOUNT/${SHARE}/${'z'.repeat(20_000)}`) },
);

const QUERY_NAMES = [
  'comp',
  'restype',
  'marker',
  'maxresults',
  'timeout',
  'prefix',
  'jobid',
  'at',
  'from',
  'to',
  'order',
  'recursive',
  'type',
  'leaseid',
  'handleid',
  'clientrequestid',
  'principal',
  'sharesnapshot',
  'prevsharesnapshot',
  'include',
  'COMP',
  'Restype',
  'MaxResults',
  'sv',
  'sig',
  'se',
  'sp',
  'sr',
];
const COMPS = [
  'list',
  'lease',
  'range',
  'metadata',
  'properties',
  'listhandles',
  'forceclosehandles',
  'openhandle',
  'closehandle',
  'forceclosejob',
  'forceclosejobs',
  'auditevents',
  'leasehistory',
  'stateasof',
  'auditexport',
  'share',
  'directory',
  'file',
  'service',
  'container',
  'LIST',
  'stats',
  'acl',
  'snapshot',
  'rangelist',
  'filepermission',
];
const markerish = fc.oneof(
  fc.constantFrom(
    '',
    '.',
    'a.b',
    'eyJrZXkiOiIifQ.AAAAAAAAAAAAAAAAAAAAAA',
    '%',
    '%zz',
    '%E0%A4%A',
    '%00',
    'YQ',
    'YQ%3D%3D',
    'bnVsbA.AAAAAAAAAAAAAAAAAAAAAA',
  ),
  fc
    .tuple(fc.json(), fc.string({ unit: fc.constantFrom(...'ABCDEFabcdef0123456789-_'), minLength: 22, maxLength: 22 }))
    .map(([j, s]) => `${Buffer.from(j).toString('base64url')}.${s}`),
  fc.base64String({ maxLength: 60 }).map(encodeURIComponent),
  big(3000, 6000, 'm'),
);
const dateish = fc.constantFrom(
  '2026-13-45T99:99:99Z',
  '0000-01-01T00:00:00Z',
  '%2B275760-09-13T00:00:00.000Z',
  '9999-12-31T23:59:59.999Z',
  '2026-01-01T00:00:00Z',
  '2026-01-01',
  'now',
  '1e999',
  '2026-01-01T00:00:00%2B99:99',
  '2026-02-31T00:00:00Z',
  '1970-01-01T00:00:00.000000001Z',
  '-000001-01-01T00:00:00Z',
);
const queryValue = fc.oneof(
  fc.constantFrom(...COMPS),
  numberish.map(encodeURIComponent),
  markerish,
  dateish,
  guidish.map(encodeURIComponent),
  fc.constantFrom(
    '$JOB',
    '$HANDLE',
    '$SNAPSHOT',
    '2026-01-01T00:00:00.0000000Z',
    'asc',
    'desc',
    'ASC',
    'true',
    'false',
    'LeaseAcquired',
    'x'.repeat(65),
    '------------------------------------',
    'a'.repeat(36),
    'A'.repeat(36),
  ),
  fc.stringMatching(/^[0-9a-f-]{36}$/),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.string({ unit: urlChar('&#'), maxLength: 10 }),
);
const param = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.oneof(fc.constantFrom(...QUERY_NAMES), fc.string({ unit: urlChar('&=#'), minLength: 1, maxLength: 8 })),
        queryValue,
      )
      .map(([n, v]) => `${n}=${v}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'comp',
      '=x',
      '',
      'comp==list',
      'a=b=c',
      '%=%',
      'comp=%',
      'comp=%zz',
      '&',
      'comp=list&comp=lease',
      'restype=share&restype=directory',
    ),
  },
);
const hostileQuery = fc.oneof(
  fc.array(param, { maxLength: 6 }).map((ps) => ps.join('&')),
  fc
    .tuple(fc.constantFrom(...OPS.map((o) => o[1])), fc.array(param, { minLength: 1, maxLength: 5 }))
    .map(([base, ps]) => [base, ...ps].filter(Boolean).join('&')),
);
/** Parameters the operations read, each given a hostile value, on a method and resource the operation takes. */
const NAMED: [string, string, Kind][] = [
  ['GET', 'comp=forceclosejob&jobid=', 'account'],
  ['DELETE', 'comp=forceclosejob&jobid=', 'account'],
  ['GET', 'comp=auditevents&jobid=', 'any'],
  ['GET', 'comp=auditevents&handleid=', 'any'],
  ['GET', 'comp=auditevents&leaseid=', 'any'],
  ['GET', 'comp=auditevents&type=', 'any'],
  ['GET', 'comp=auditevents&from=', 'any'],
  ['GET', 'comp=auditevents&to=', 'any'],
  ['GET', 'comp=auditevents&order=', 'any'],
  ['GET', 'comp=auditevents&principal=', 'any'],
  ['GET', 'comp=auditevents&clientrequestid=', 'any'],
  ['GET', 'comp=auditevents&recursive=', 'any'],
  ['GET', 'comp=auditevents&maxresults=', 'any'],
  ['GET', 'comp=auditevents&marker=', 'any'],
  ['GET', 'comp=auditexport&to=', 'any'],
  ['GET', 'comp=stateasof&at=', 'node'],
  ['GET', 'comp=listhandles&marker=', 'node'],
  ['GET', 'comp=listhandles&maxresults=', 'node'],
  ['GET', 'comp=forceclosejobs&marker=', 'account'],
  ['GET', 'comp=forceclosejobs&maxresults=', 'account'],
  ['GET', 'restype=directory&comp=list&marker=', 'dir'],
  ['GET', 'restype=directory&comp=list&maxresults=', 'dir'],
  ['GET', 'restype=directory&comp=list&prefix=', 'dir'],
  ['PUT', 'comp=forceclosehandles&marker=', 'node'],
  ['GET', 'comp=list&marker=', 'account'],
  ['GET', 'comp=list&maxresults=', 'account'],
  ['GET', 'comp=list&include=', 'account'],
  ['GET', 'comp=list&prefix=', 'account'],
  ['GET', 'restype=share&timeout=', 'share'],
  ['PUT', 'comp=lease&sharesnapshot=', 'file'],
  ['GET', 'sharesnapshot=', 'file'],
  ['GET', 'restype=share&sharesnapshot=', 'share'],
  ['DELETE', 'restype=share&sharesnapshot=', 'share'],
  ['GET', 'comp=rangelist&prevsharesnapshot=', 'file'],
  ['GET', 'comp=rangelist&sharesnapshot=$SNAPSHOT&prevsharesnapshot=', 'file'],
  ['GET', 'restype=directory&comp=list&sharesnapshot=', 'dir'],
  ['GET', 'comp=', 'any'],
  ['GET', 'restype=', 'any'],
];
const namedParameter = fc
  .constantFrom(...NAMED)
  .chain(([method, base, kind]) =>
    fc
      .tuple(fc.constantFrom(...pathsOf(kind)), queryValue)
      .map(([path, value]) => ({ method, path, query: `${base}${value}` })),
  );

// ---------------------------------------------------------------- checks

const stats = new Map<string, Map<string, number>>();
const ERROR_BODY =
  /^<\?xml version="1\.0" encoding="utf-8"\?><Error><Code>([^<]+)<\/Code><Message>[^<]+<\/Message>.*<\/Error>$/s;

function show(r: Hostile, res: Reply): string {
  return `${r.method} ${substitute(r.path).slice(0, 300)}?${substitute(r.query).slice(0, 300)} [${r.auth}] headers ${JSON.stringify(r.headers).slice(0, 600)} → ${res.status} ${res.header('x-ms-error-code') ?? ''} ${res.body.slice(0, 300)}`;
}

/** The invariants every answer keeps; throws with the request and the answer. */
async function check(property: string, r: Hostile, res: Reply): Promise<void> {
  const fail = (what: string) => {
    throw new Error(`${what}: ${show(r, res)}`);
  };
  const code = res.header('x-ms-error-code');
  const tally = stats.get(property) ?? new Map<string, number>();
  stats.set(property, tally);
  const key = `${res.status}${code ? ` ${code}` : ''}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);

  if (res.status >= 500) fail('a 5xx answer');
  if (!res.header('x-ms-request-id')) fail('no x-ms-request-id');
  if (res.status >= 400) {
    if (!code) fail('an error without x-ms-error-code');
    if (r.method !== 'HEAD') {
      if (!/^application\/xml(;|$)/.test(res.header('content-type') ?? ''))
        fail('an error body that is not application/xml');
      const body = ERROR_BODY.exec(res.body);
      if (!body) fail('an error body that is not <Error><Code/><Message/></Error>');
      if (body![1] !== code) fail(`<Code>${body![1]}</Code> differs from x-ms-error-code ${code}`);
    }
  }
  const after = await snapshot();
  const changed = Object.keys(after).filter((k) => after[k] !== current[k]);
  // A refusal, and any read, leaves the log and the projections as they were.
  if ((res.status >= 400 || r.method === 'GET' || r.method === 'HEAD') && changed.length)
    fail(`the store changed (${changed.join(', ')})`);
  if (changed.length || res.status < 400) {
    await ensureTree();
    current = await snapshot();
  }
}

async function hostile(
  property: string,
  arbitrary: fc.Arbitrary<Hostile>,
  numRuns: number,
  also?: (r: Hostile, res: Reply) => void,
): Promise<void> {
  await ensureTree();
  current = await snapshot();
  await fc.assert(
    fc.asyncProperty(arbitrary, async (r) => {
      const res = await fire(r);
      await check(property, r, res);
      also?.(r, res);
    }),
    { numRuns },
  );
}

/**
 * The share of a property's requests that got through HTTP parsing and authentication to the
 * operations: the generators must mostly test the service, not only its front door.
 */
function reached(property: string): number {
  const tally = stats.get(property)!;
  const total = [...tally.values()].reduce((a, b) => a + b, 0);
  const door = ['403 AuthenticationFailed', '400 InvalidInput', '431 RequestHeaderFieldsTooLarge'].reduce(
    (n, k) => n + (tally.get(k) ?? 0),
    0,
  );
  return 1 - door / total;
}

beforeAll(async () => {
  database = await createIsolatedDatabase('hostile');
  prefix = uniqueQueuePrefix('hostile');
  service = await startTestService({ DATABASE_URL: database.url, QUEUE_PREFIX: prefix });
  db = new Pool({ connectionString: database.url, max: 2 });
  H = await service.createAccount(`hostile${randomUUID().slice(0, 8)}`);
  O = await service.createAccount(`other${randomUUID().slice(0, 8)}`);
  await ensureTree();
}, 120_000);

afterAll(async () => {
  const lines = [...stats].map(([property, tally]) => {
    const total = [...tally.values()].reduce((a, b) => a + b, 0);
    const top = [...tally]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
    return `${property}: ${total} requests; ${top}`;
  });
  console.log(`hostile requests by answer\n${lines.join('\n')}`);
  await db?.end();
  await service?.stop();
  if (prefix) await removeQueue(prefix);
  await database?.drop();
}, 60_000);

describe('hostile requests', () => {
  it('hostile headers on real operations', async () => {
    const arbitrary = fc
      .record({ op: realOp(), headers, body: smallBody, auth: signedAuth })
      .map(({ op, headers, body, auth }): Hostile => ({ ...op, headers, body: body ?? undefined, auth }));
    await hostile('headers', arbitrary, 2900);
    expect(reached('headers')).toBeGreaterThan(0.7);
  });

  it('hostile paths and encodings', async () => {
    const arbitrary = fc
      .record({
        op: fc.constantFrom(...OPS),
        path: hostilePath,
        headers: fc.oneof(fc.constant<[string, string][]>([]), headers),
        auth: signedAuth,
      })
      .map(({ op, path, headers, auth }): Hostile => ({ method: op[0], query: op[1], path, headers, auth }));
    await hostile('paths', arbitrary, 1700);
    expect(reached('paths')).toBeGreaterThan(0.6);
  });

  it('hostile queries: comp, restype, markers, maxresults, timeout, audit filters, job ids', async () => {
    const anywhere = fc.record({
      path: fc.constantFrom(...pathsOf('any')),
      method: fc.constantFrom('GET', 'GET', 'PUT', 'DELETE', 'HEAD'),
      query: hostileQuery,
    });
    const arbitrary = fc
      .record({ request: fc.oneof(anywhere, namedParameter), auth: signedAuth })
      .map(({ request, auth }): Hostile => ({ ...request, headers: [], auth }));
    await hostile('queries', arbitrary, 2200);
    expect(reached('queries')).toBeGreaterThan(0.7);
  });

  it('ranges, writes and lease ids on real files (a sparse 8 GiB one among them)', async () => {
    const files = Object.keys(FILES).map(wire);
    const arbitrary = fc
      .record({
        op: fc.constantFrom(
          ['PUT', 'comp=range'],
          ['PUT', 'comp=range'],
          ['GET', ''],
          ['HEAD', ''],
          ['PUT', 'comp=properties'],
          ['PUT', 'comp=lease'],
        ),
        path: fc.oneof(
          { weight: 2, arbitrary: fc.constant(wire('d1/big.bin')) },
          { weight: 1, arbitrary: fc.constant(wire(LEASED)) },
          { weight: 2, arbitrary: fc.constantFrom(...files) },
        ),
        range: fc.tuple(fc.constantFrom('x-ms-range', 'range'), rangeish),
        write: fc.constantFrom('update', 'clear', 'clear', 'Clear', 'bogus'),
        lease: fc.option(guidish, { freq: 4 }),
        more: fc.array(
          fc.oneof(
            ...HEADER_VALUES.filter(([n]) => /lease|length|md5|recursive/.test(n)).map(([n, v]) =>
              v.map((x): [string, string] => [n, x]),
            ),
          ),
          { maxLength: 2 },
        ),
        bodyLength: fc.oneof(fc.nat({ max: 64 }), fc.constant(-1)),
      })
      .map(({ op, path, range, write, lease, more, bodyLength }): Hostile => {
        const m = /^bytes=(\d+)-(\d+)$/.exec(range[1]);
        // An update body as long as the range says, when that is small; otherwise a length that does not fit.
        const wanted = m ? Number(m[2]) - Number(m[1]) + 1 : 0;
        const length =
          op[1] === 'comp=range' && write !== 'clear' && write !== 'Clear'
            ? wanted > 0 && wanted <= 4096 && bodyLength < 0
              ? wanted
              : Math.max(bodyLength, 0)
            : 0;
        const hs: [string, string][] = [range, ['x-ms-write', write], ...more];
        if (lease !== null) hs.push(['x-ms-lease-id', lease]);
        return {
          method: op[0],
          query: op[1],
          path,
          headers: hs,
          body: length ? Buffer.alloc(length, 7) : undefined,
          auth: 'key1',
        };
      });
    await hostile('ranges', arbitrary, 1200);
    expect(reached('ranges')).toBeGreaterThan(0.9);
  });

  it('XML bodies of Set Share ACL and Set File Service Properties: malformed, oversized, entity tricks, hostile values', async () => {
    const text = fc.oneof(
      latin1,
      fc.constantFrom(
        '',
        '-1',
        '99999999999',
        'true',
        'TRUE',
        'rwdl',
        'lr',
        'GET,PUT',
        'FETCH',
        '*',
        'x-ms-*,a*,b*',
        '2026-01-01T00:00:00Z',
        '2026-13-01',
        '&amp;',
        '&bogus;',
        ']]>',
      ),
      big(60, 3000),
    );
    const element = (name: string) => text.map((t) => `<${name}>${t}</${name}>`);
    const identifier = fc
      .tuple(
        element('Id'),
        fc.array(fc.oneof(element('Start'), element('Expiry'), element('Permission')), { maxLength: 4 }),
      )
      .map(
        ([id, policy]) => `<SignedIdentifier>${id}<AccessPolicy>${policy.join('')}</AccessPolicy></SignedIdentifier>`,
      );
    const acl = fc
      .array(identifier, { maxLength: 7 })
      .map((items) => `<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers>${items.join('')}</SignedIdentifiers>`);
    const rule = fc
      .array(
        fc.oneof(
          ...['AllowedOrigins', 'AllowedMethods', 'AllowedHeaders', 'ExposedHeaders', 'MaxAgeInSeconds'].map(element),
        ),
        { maxLength: 6 },
      )
      .map((parts) => `<CorsRule>${parts.join('')}</CorsRule>`);
    const metrics = fc
      .tuple(
        fc.constantFrom('HourMetrics', 'MinuteMetrics'),
        fc.array(
          fc.oneof(
            element('Version'),
            element('Enabled'),
            element('IncludeAPIs'),
            element('RetentionPolicy'),
            text.map((t) => `<RetentionPolicy><Enabled>true</Enabled><Days>${t}</Days></RetentionPolicy>`),
          ),
          { maxLength: 4 },
        ),
      )
      .map(([name, parts]) => `<${name}>${parts.join('')}</${name}>`);
    const properties = fc
      .tuple(
        fc.array(rule, { maxLength: 7 }),
        fc.option(metrics),
        fc.constantFrom(
          '',
          '<ProtocolSettings><SMB><Multichannel><Enabled>true</Enabled></Multichannel></SMB></ProtocolSettings>',
        ),
      )
      .map(
        ([rules, m, protocol]) =>
          `<StorageServiceProperties>${m ?? ''}<Cors>${rules.join('')}</Cors>${protocol}</StorageServiceProperties>`,
      );
    const broken = fc.oneof(
      fc.constantFrom(
        '',
        '<',
        '<SignedIdentifiers>',
        '<StorageServiceProperties><Cors></StorageServiceProperties>',
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "ccccccccccccccccc"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><StorageServiceProperties><Cors><CorsRule><AllowedOrigins>&c;</AllowedOrigins></CorsRule></Cors></StorageServiceProperties>',
        '<?xml version="1.0"?><!DOCTYPE a SYSTEM "file:///etc/passwd"><SignedIdentifiers>&a;</SignedIdentifiers>',
        '<Other/>',
        '{"json": true}',
      ),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    const arbitrary = fc
      .record({
        target: fc.constantFrom(['restype=share&comp=acl', wire()], ['restype=service&comp=properties', '/$ACCOUNT']),
        body: fc.oneof(
          { weight: 3, arbitrary: acl },
          { weight: 3, arbitrary: properties },
          { weight: 2, arbitrary: broken },
        ),
      })
      .map(({ target, body }): Hostile => ({
        method: 'PUT',
        query: target[0],
        path: target[1],
        headers: [],
        body: Buffer.from(body, 'latin1'),
        auth: 'key1',
      }));
    await hostile('xml bodies', arbitrary, 400);
    expect(reached('xml bodies')).toBeGreaterThan(0.95);
  });

  it('wrong methods and bodies where none belong', async () => {
    const methods = [
      'GET',
      'HEAD',
      'PUT',
      'DELETE',
      'POST',
      'PATCH',
      'OPTIONS',
      'PROPFIND',
      'MKCOL',
      'COPY',
      'MOVE',
      'LOCK',
      'UNLOCK',
      'SEARCH',
      'PURGE',
      'REPORT',
      'MERGE',
      'TRACE',
    ];
    const arbitrary = fc
      .record({
        method: fc.constantFrom(...methods),
        op: realOp(),
        query: fc.oneof(fc.constant(undefined), hostileQuery),
        body: fc.oneof(
          { weight: 6, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b) => Buffer.from(b)) },
          { weight: 1, arbitrary: fc.constant(Buffer.alloc(64 * 1024, 1)) },
          { weight: 1, arbitrary: fc.constant(Buffer.alloc(4 * 1024 * 1024 + 1, 2)) },
        ),
        headers: fc.oneof(fc.constant<[string, string][]>([]), headers),
      })
      .map(({ method, op, query, body, headers }): Hostile => ({
        method,
        path: op.path,
        query: query ?? op.query,
        headers,
        body: method === 'TRACE' ? undefined : body,
        auth: 'key1',
      }));
    await hostile('methods', arbitrary, 1000);
    expect(reached('methods')).toBeGreaterThan(0.7);
  });

  it('Clear Range across whole chunks of a sparse 8 GiB file zeros exactly the range, and nothing else', async () => {
    const MiB = 1024 * 1024;
    const file = wire('d1/big.bin');
    const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);
    // Data at the chunk edges the clear cuts through, inside the chunks it drops, and around it.
    const writes: [number, Buffer][] = [
      [0, bytes(10, 1)],
      [MiB - 4, bytes(8, 2)],
      [2 * MiB + 5, bytes(6, 3)],
      [3 * MiB - 3, bytes(6, 4)],
      [5 * GiB, bytes(4, 5)],
      [8 * GiB - 4, bytes(4, 6)],
    ];
    for (const [at, data] of writes)
      await must(
        'PUT',
        file,
        'comp=range',
        [
          ['x-ms-range', `bytes=${at}-${at + data.length - 1}`],
          ['x-ms-write', 'update'],
        ],
        data,
      );
    // From inside chunk 0 to inside chunk 3: chunk 0's tail and chunk 3's head rewritten, 1 and 2 dropped.
    await must('PUT', file, 'comp=range', [
      ['x-ms-range', `bytes=${MiB - 2}-${3 * MiB - 2}`],
      ['x-ms-write', 'clear'],
    ]);
    const read = async (at: number, n: number) =>
      Buffer.from((await must('GET', file, '', [['x-ms-range', `bytes=${at}-${at + n - 1}`]])).body, 'latin1');
    const expectBytes = async (at: number, expected: number[]) =>
      expect([...(await read(at, expected.length))]).toEqual(expected);
    await expectBytes(0, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    await expectBytes(MiB - 4, [2, 2, 0, 0, 0, 0, 0, 0]);
    await expectBytes(2 * MiB + 5, [0, 0, 0, 0, 0, 0]);
    await expectBytes(3 * MiB - 3, [0, 0, 4, 4, 4, 4]);
    // A clear of (nearly) all 8 GiB: one DELETE and two edge chunks, not 8 GiB of zeros.
    await must('PUT', file, 'comp=range', [
      ['x-ms-range', `bytes=1-${8 * GiB - 2}`],
      ['x-ms-write', 'clear'],
    ]);
    await expectBytes(0, [1, 0]);
    await expectBytes(5 * GiB, [0, 0, 0, 0]);
    await expectBytes(8 * GiB - 4, [0, 0, 0, 6]);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM file_chunks c JOIN nodes n ON n.file_id = c.file_id JOIN shares s ON s.share_id = n.share_id WHERE s.tenant = $1 AND s.name = $2 AND n.path_key = 'd1/big.bin'`,
      [H.name, SHARE],
    );
    expect(rows[0].n).toBe(2);
  });

  it('broken authentication never gets in', async () => {
    const broken = fc.constantFrom<AuthMode>(
      'none',
      'garbage',
      'scheme',
      'other-account',
      'wrong-key',
      'tampered',
      'other-query',
      'stale-date',
      'no-date',
      'dup-auth',
    );
    const arbitrary = fc
      .record({
        op: realOp(),
        auth: broken,
        garbage: latin1,
        headers: fc.oneof(fc.constant<[string, string][]>([]), headers),
        body: smallBody,
      })
      .map(({ op, auth, garbage, headers, body }): Hostile => ({
        ...op,
        headers,
        auth,
        garbage,
        body: body ?? undefined,
      }));
    // Every one of them is refused at the door: 403, or 431 when its headers are too large to be read at all.
    await hostile('authentication', arbitrary, 1200, (r, res) => {
      const refused = `${res.status} ${res.header('x-ms-error-code')}`;
      if (refused !== '403 AuthenticationFailed' && refused !== '431 RequestHeaderFieldsTooLarge')
        throw new Error(`got in: ${show(r, res)}`);
    });
  });
});
