// Tenant isolation, route by route. Two tenants, A and B, hold the same tree under a share of the
// same name (a leased file, directories, open handles, queued force-close jobs, audit events):
//  (a) a request signed with A's credentials for B's URL is refused (403) and changes nothing;
//  (b) A's requests on its own URLs work and never show anything of B's;
//  (c) markers, cursors, job ids and handle ids A obtained are useless to B.
// Everything runs against the real API, PostgreSQL and Redis, in a database of this file's own.
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  FileSASPermissions,
  generateAccountSASQueryParameters,
  generateFileSASQueryParameters,
  ShareSASPermissions,
  StorageSharedKeyCredential,
} from '@azure/storage-file-share';
import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { AsyncProjector, auditProjection } from '../../libs/audit/src';
import { createDataSource, EventStore } from '../../libs/event-store/src';
import { OperationRouter } from '../../libs/wire/src';
import { projectorCatchUp } from '../support/audited-service';
import { createIsolatedDatabase, removeQueue, uniqueQueuePrefix } from '../support/jobs';
import { startTestService, TestService } from '../support/service';
import { RawResponse, sendRaw } from '../support/signed-request';
import { tenantDigest } from '../support/tenant-digest';

type Signer = { account: string; key: string };

interface Handle {
  id: string;
  session: string;
}

/** One tenant and everything the test created for it. */
interface Tenant {
  name: string;
  key1: string;
  key2: string;
  signer: Signer;
  /** The lease on dir/file.txt. */
  leaseId: string;
  /** Lease ids the catalog's lease actions use on dir/lease2.txt. */
  lease2: string;
  lease3: string;
  content: string;
  owner: string;
  clientName: string;
  /** Open handles: 0 and 1 on dir/file.txt, 2 on dir, 3 and 4 on closeme. */
  handles: Handle[];
  jobs: string[];
  /** A snapshot of the share, taken once the tree is built (before the handles and jobs). */
  snapshot: string;
}

interface Call {
  method: string;
  path: string;
  query?: string;
  headers?: Record<string, string | undefined>;
  body?: string;
}

/** One operation of the catalog: the request for a tenant's own resources, and what the owner gets. */
interface Operation {
  /** The OperationSpec name the router registered. */
  name: string;
  call(t: Tenant): Call;
  status: number;
  /** Checks an owner's answer against the owner's own data (values, counts, ids). */
  check?(res: RawResponse, t: Tenant): Promise<void> | void;
}

const SHARE = 'isolated-share';
const FILE = 'dir/file.txt';
const CONTENT_BYTES = 48;

let database: { url: string; drop(): Promise<void> };
let prefix: string;
let service: TestService;
let db: Pool;
let projectorPool: Pool;
let closeStore: () => Promise<void>;
let projector: AsyncProjector;
let A: Tenant;
let B: Tenant;

const send = (call: Call, signer?: Signer) => sendRaw(service.url, { ...call, signer });
const at = (t: Tenant, path = '') => `/${t.name}/${SHARE}${path ? `/${path}` : ''}`;
const xmlValues = (xml: string, name: string) =>
  [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]);

/** An Azure error in the documented shape: status, x-ms-error-code, the XML body whose Code matches. */
function expectAzureError(res: RawResponse, method: string, status: number, code: string): void {
  expect({ status: res.status, code: res.header('x-ms-error-code') }).toEqual({ status, code });
  expect(res.header('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  if (method === 'HEAD') return;
  expect(res.header('content-type')).toMatch(/^application\/xml(;|$)/);
  expect(res.body).toMatch(
    new RegExp(
      `^<\\?xml version="1.0" encoding="utf-8"\\?><Error><Code>${code}</Code><Message>[^<]+</Message>.*</Error>$`,
      's',
    ),
  );
}

const snapshot = (tenant: string) => tenantDigest(db, tenant);

const catchUp = () => projectorCatchUp(projector);
/** Room for catchUp's polls when other files' transactions hold the projector back. */
const AUDIT_WAIT_MS = 360_000;

async function ok(call: Call, signer: Signer, status: number): Promise<RawResponse> {
  const res = await send(call, signer);
  if (res.status !== status)
    throw new Error(
      `${call.method} ${call.path}?${call.query ?? ''} answered ${res.status}, not ${status}: ${res.body}`,
    );
  return res;
}

async function openHandle(t: Tenant, path: string): Promise<Handle> {
  const res = await ok(
    {
      method: 'PUT',
      path: at(t, path),
      query: 'comp=openhandle',
      headers: { 'x-leasehold-client-ip': '10.20.30.40:445', 'x-leasehold-client-name': t.clientName },
    },
    t.signer,
    201,
  );
  return { id: res.header('x-leasehold-handle-id')!, session: res.header('x-leasehold-session-id')! };
}

/** The same tree for every tenant; only the values (content, lease ids, metadata, names) differ. */
async function createTenant(label: string): Promise<Tenant> {
  const account = await service.createAccount(`iso${label}${randomBytes(4).toString('hex')}`);
  const t: Tenant = {
    ...account,
    signer: { account: account.name, key: account.key1 },
    leaseId: randomUUID(),
    lease2: randomUUID(),
    lease3: randomUUID(),
    content: `${account.name}-content-${randomBytes(16).toString('hex')}`
      .padEnd(CONTENT_BYTES, '.')
      .slice(0, CONTENT_BYTES),
    owner: `owner-${account.name}-${randomBytes(4).toString('hex')}`,
    clientName: `client-${account.name}`,
    handles: [],
    jobs: [],
    snapshot: '',
  };
  const s = t.signer;
  await ok({ method: 'PUT', path: at(t), query: 'restype=share', headers: { 'x-ms-meta-owner': t.owner } }, s, 201);
  // A second share, so that a List Shares page of one leaves a marker.
  await ok({ method: 'PUT', path: `/${t.name}/second-share`, query: 'restype=share' }, s, 201);
  for (const dir of ['dir', 'dir/sub', 'empty', 'closeme'])
    await ok(
      { method: 'PUT', path: at(t, dir), query: 'restype=directory', headers: { 'x-ms-meta-owner': t.owner } },
      s,
      201,
    );
  for (const file of [FILE, 'dir/spare.txt', 'dir/lease2.txt']) {
    await ok(
      {
        method: 'PUT',
        path: at(t, file),
        headers: { 'x-ms-type': 'file', 'x-ms-content-length': String(CONTENT_BYTES), 'x-ms-meta-owner': t.owner },
      },
      s,
      201,
    );
    await ok(
      {
        method: 'PUT',
        path: at(t, file),
        query: 'comp=range',
        headers: { 'x-ms-range': `bytes=0-${CONTENT_BYTES - 1}`, 'x-ms-write': 'update' },
        body: t.content,
      },
      s,
      201,
    );
  }
  await ok(
    {
      method: 'PUT',
      path: at(t, FILE),
      query: 'comp=lease',
      headers: { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '-1', 'x-ms-proposed-lease-id': t.leaseId },
    },
    s,
    201,
  );
  await ok({ method: 'PUT', path: at(t), query: 'restype=share&comp=acl', body: aclBody(t) }, s, 200);
  await ok({ method: 'PUT', path: `/${t.name}`, query: 'restype=service&comp=properties', body: corsBody(t) }, s, 202);
  t.snapshot = (await ok({ method: 'PUT', path: at(t), query: 'restype=share&comp=snapshot' }, s, 201)).header(
    'x-ms-snapshot',
  )!;
  for (const path of [FILE, FILE, 'dir', 'closeme', 'closeme']) t.handles.push(await openHandle(t, path));
  for (const key of ['first', 'second']) {
    const res = await ok(
      {
        method: 'PUT',
        path: at(t, 'dir'),
        query: 'comp=forceclosejob',
        headers: { 'x-ms-handle-id': '*', 'x-ms-recursive': 'true', 'x-leasehold-idempotency-key': `${t.name}-${key}` },
      },
      s,
      202,
    );
    t.jobs.push(res.header('x-leasehold-job-id')!);
  }
  return t;
}

/** A stored access policy and a CORS rule named after the tenant: what Get Share ACL and Get File Service Properties show. */
const aclBody = (t: Tenant) =>
  `<?xml version="1.0" encoding="utf-8"?><SignedIdentifiers><SignedIdentifier><Id>policy-${t.name}</Id><AccessPolicy><Permission>rl</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>`;
const corsBody = (t: Tenant) =>
  `<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><Cors><CorsRule><AllowedOrigins>https://${t.name}.example</AllowedOrigins>` +
  `<AllowedMethods>GET</AllowedMethods><MaxAgeInSeconds>60</MaxAgeInSeconds><ExposedHeaders></ExposedHeaders><AllowedHeaders></AllowedHeaders></CorsRule></Cors></StorageServiceProperties>`;

/** A read SAS for one of the tenant's files, signed with its key: the source of Put Range From URL. */
const readSas = (t: Tenant, path: string) =>
  generateFileSASQueryParameters(
    {
      shareName: SHARE,
      filePath: path,
      permissions: FileSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    new StorageSharedKeyCredential(t.name, t.key1),
  ).toString();

/** Values only `t` has: none of them may ever appear in another tenant's answers. */
async function tokensOf(t: Tenant): Promise<{ text: string[]; ids: string[] }> {
  const etags = await db.query(
    `SELECT etag FROM nodes WHERE tenant = $1 UNION SELECT etag FROM shares WHERE tenant = $1`,
    [t.name],
  );
  const requests = await db.query(
    `SELECT DISTINCT metadata->>'requestId' AS id FROM events WHERE tenant = $1 UNION SELECT DISTINCT metadata->>'clientRequestId' FROM events WHERE tenant = $1`,
    [t.name],
  );
  return {
    text: [
      t.name,
      t.leaseId,
      t.lease2,
      t.lease3,
      t.content,
      t.owner,
      t.clientName,
      ...t.jobs,
      ...etags.rows.map((r) => r.etag.replace(/"/g, '')),
      // Request ids the client chose or the service generated (not 'system', which every account shares).
      ...requests.rows.map((r) => r.id).filter((id) => /^[0-9a-f-]{36}$/.test(id ?? '')),
    ],
    // Numeric ids are only found standing alone (not inside a longer number).
    ids: t.handles.flatMap((h) => [h.id, h.session]),
  };
}

function expectNothingOf(res: RawResponse, tokens: { text: string[]; ids: string[] }): void {
  const seen = `${JSON.stringify(res.headers)}\n${res.body}`.toLowerCase();
  for (const token of tokens.text) expect(seen).not.toContain(token.toLowerCase());
  for (const id of tokens.ids) expect(seen).not.toMatch(new RegExp(`(?<![0-9])${id}(?![0-9])`));
}

/** The tenant's audit events in the read model's order, each as stream@version (the API shows no global sequence). */
const auditEvents = async (t: Tenant, where = '', params: unknown[] = []) =>
  (
    await db.query(
      `SELECT stream_id || '@' || stream_version AS s FROM audit_log WHERE tenant = $1 ${where} ORDER BY seq`,
      [t.name, ...params],
    )
  ).rows.map((r) => r.s);
const identity = (e: { streamId: string; streamVersion: number }) => `${e.streamId}@${e.streamVersion}`;

const openHandleIds = async (t: Tenant) =>
  (await db.query(`SELECT handle_id::text AS id FROM handles WHERE tenant = $1`, [t.name])).rows
    .map((r) => r.id)
    .sort();

/**
 * Every operation of the service, as its owner would call it on its own tree, in an order where
 * each succeeds (reads first, destructive ones last).
 */
const CATALOG: Operation[] = [
  {
    name: 'Get Share Properties',
    call: (t) => ({ method: 'GET', path: at(t), query: 'restype=share' }),
    status: 200,
    check: async (res, t) => {
      expect(res.header('x-ms-meta-owner')).toBe(t.owner);
      const { rows } = await db.query(`SELECT etag FROM shares WHERE tenant = $1 AND name = $2`, [t.name, SHARE]);
      expect(res.header('etag')).toBe(rows[0].etag);
    },
  },
  {
    name: 'Get Share Metadata',
    call: (t) => ({ method: 'GET', path: at(t), query: 'restype=share&comp=metadata' }),
    status: 200,
    check: (res, t) => expect(res.header('x-ms-meta-owner')).toBe(t.owner),
  },
  {
    name: 'Get Share ACL',
    call: (t) => ({ method: 'GET', path: at(t), query: 'restype=share&comp=acl' }),
    status: 200,
    check: (res, t) => expect(xmlValues(res.body, 'Id')).toEqual([`policy-${t.name}`]),
  },
  {
    name: 'Get Share Stats',
    call: (t) => ({ method: 'GET', path: at(t), query: 'restype=share&comp=stats' }),
    status: 200,
    check: (res) => expect(xmlValues(res.body, 'ShareUsageBytes')).toEqual([String(3 * CONTENT_BYTES)]),
  },
  {
    name: 'List Shares',
    call: (t) => ({ method: 'GET', path: `/${t.name}`, query: 'comp=list&include=metadata' }),
    status: 200,
    check: async (res, t) => {
      const { rows } = await db.query(`SELECT name FROM shares WHERE tenant = $1 ORDER BY name`, [t.name]);
      expect(xmlValues(res.body, 'Name')).toEqual(rows.map((r) => r.name));
      expect(xmlValues(res.body, 'Name')).toEqual(['isolated-share', 'second-share']);
      expect(xmlValues(res.body, 'owner')).toEqual([t.owner]);
    },
  },
  {
    name: 'Get File Service Properties',
    call: (t) => ({ method: 'GET', path: `/${t.name}`, query: 'restype=service&comp=properties' }),
    status: 200,
    check: (res, t) => expect(xmlValues(res.body, 'AllowedOrigins')).toEqual([`https://${t.name}.example`]),
  },
  {
    name: 'Get Directory Properties',
    call: (t) => ({ method: 'GET', path: at(t, 'dir'), query: 'restype=directory' }),
    status: 200,
    check: async (res, t) => {
      const { rows } = await db.query(`SELECT file_id::text FROM nodes WHERE tenant = $1 AND path_key = 'dir'`, [
        t.name,
      ]);
      expect(res.header('x-ms-file-id')).toBe(rows[0].file_id);
      expect(res.header('x-ms-meta-owner')).toBe(t.owner);
    },
  },
  {
    name: 'List Directories and Files',
    call: (t) => ({ method: 'GET', path: at(t, 'dir'), query: 'restype=directory&comp=list' }),
    status: 200,
    check: async (res, t) => {
      const { rows } = await db.query(
        `SELECT name, file_id::text FROM nodes WHERE tenant = $1 AND parent_key = 'dir' ORDER BY path_key`,
        [t.name],
      );
      expect(xmlValues(res.body, 'Name')).toEqual(['file.txt', 'lease2.txt', 'spare.txt', 'sub']);
      expect(xmlValues(res.body, 'FileId')).toEqual(rows.map((r) => r.file_id));
    },
  },
  {
    name: 'Get File',
    call: (t) => ({ method: 'GET', path: at(t, FILE) }),
    status: 200,
    check: (res, t) => {
      expect(res.body).toBe(t.content);
      expect(res.header('x-ms-lease-state')).toBe('leased');
    },
  },
  {
    name: 'Get File Properties',
    call: (t) => ({ method: 'HEAD', path: at(t, FILE) }),
    status: 200,
    check: async (res, t) => {
      const { rows } = await db.query(`SELECT file_id::text FROM nodes WHERE tenant = $1 AND path_key = $2`, [
        t.name,
        FILE,
      ]);
      expect(res.header('x-ms-file-id')).toBe(rows[0].file_id);
      expect(res.header('x-ms-meta-owner')).toBe(t.owner);
      expect(res.header('content-length')).toBe(String(CONTENT_BYTES));
    },
  },
  {
    name: 'Get File Metadata',
    call: (t) => ({ method: 'GET', path: at(t, FILE), query: 'comp=metadata' }),
    status: 200,
    check: (res, t) => expect(res.header('x-ms-meta-owner')).toBe(t.owner),
  },
  {
    name: 'Get File Metadata',
    call: (t) => ({
      method: 'HEAD',
      path: at(t, FILE),
      query: 'comp=metadata',
      headers: { 'x-ms-lease-id': t.leaseId },
    }),
    status: 200,
    check: (res, t) => expect(res.header('x-ms-meta-owner')).toBe(t.owner),
  },
  {
    name: 'List Ranges',
    call: (t) => ({ method: 'GET', path: at(t, FILE), query: 'comp=rangelist' }),
    status: 200,
    check: (res) => expect(res.body).toContain(`<Range><Start>0</Start><End>${CONTENT_BYTES - 1}</End></Range>`),
  },
  // Reads of the share snapshot: the tenant's own tree as it was, nothing of the other's.
  {
    name: 'Get File',
    call: (t) => ({ method: 'GET', path: at(t, FILE), query: `sharesnapshot=${t.snapshot}` }),
    status: 200,
    check: (res, t) => expect(res.body).toBe(t.content),
  },
  {
    name: 'Get Share Properties',
    call: (t) => ({ method: 'GET', path: at(t), query: `restype=share&sharesnapshot=${t.snapshot}` }),
    status: 200,
    check: (res, t) => expect(res.header('x-ms-meta-owner')).toBe(t.owner),
  },
  {
    name: 'List Directories and Files',
    call: (t) => ({
      method: 'GET',
      path: at(t, 'dir'),
      query: `restype=directory&comp=list&sharesnapshot=${t.snapshot}`,
    }),
    status: 200,
    check: (res) => expect(xmlValues(res.body, 'Name').sort()).toEqual(['file.txt', 'lease2.txt', 'spare.txt', 'sub']),
  },
  {
    name: 'List Ranges',
    call: (t) => ({ method: 'GET', path: at(t, FILE), query: `comp=rangelist&prevsharesnapshot=${t.snapshot}` }),
    status: 200,
  },
  {
    name: 'List Handles',
    call: (t) => ({ method: 'GET', path: at(t), query: 'comp=listhandles', headers: { 'x-ms-recursive': 'true' } }),
    status: 200,
    check: async (res, t) => {
      expect(xmlValues(res.body, 'HandleId').sort()).toEqual(await openHandleIds(t));
      expect(new Set(xmlValues(res.body, 'ClientName'))).toEqual(new Set([t.clientName]));
    },
  },
  {
    name: 'Get Force Close Job (extension)',
    call: (t) => ({ method: 'GET', path: `/${t.name}`, query: `comp=forceclosejob&jobid=${t.jobs[0]}` }),
    status: 200,
    check: (res, t) => expect(xmlValues(res.body, 'JobId')).toEqual([t.jobs[0]]),
  },
  {
    name: 'List Force Close Jobs (extension)',
    call: (t) => ({ method: 'GET', path: `/${t.name}`, query: 'comp=forceclosejobs' }),
    status: 200,
    check: (res, t) => expect(xmlValues(res.body, 'JobId').sort()).toEqual([...t.jobs].sort()),
  },
  {
    name: 'Query Audit Events (extension)',
    call: (t) => ({ method: 'GET', path: `/${t.name}`, query: 'comp=auditevents&order=asc&maxresults=1000' }),
    status: 200,
    check: async (res, t) => {
      const page = JSON.parse(res.body);
      expect(page.nextMarker).toBe('');
      expect(page.events.map(identity)).toEqual(await auditEvents(t));
    },
  },
  {
    name: 'Lease History (extension)',
    call: (t) => ({ method: 'GET', path: at(t, FILE), query: 'comp=leasehistory' }),
    status: 200,
    check: (res, t) =>
      expect(
        JSON.parse(res.body).timeline.map((e: { action: string; leaseId: string }) => [e.action, e.leaseId]),
      ).toEqual([['acquired', t.leaseId]]),
  },
  {
    name: 'State As Of (extension)',
    call: (t) => ({
      method: 'GET',
      path: at(t, FILE),
      query: `comp=stateasof&at=${encodeURIComponent(new Date().toISOString())}`,
    }),
    status: 200,
    check: (res, t) => {
      const state = JSON.parse(res.body);
      expect(state.lease).toMatchObject({ state: 'leased', leaseId: t.leaseId });
      expect(state.handles.map((h: { handleId: string }) => h.handleId).sort()).toEqual(
        [t.handles[0].id, t.handles[1].id].sort(),
      );
    },
  },
  {
    name: 'Export Audit Events (extension)',
    call: (t) => ({ method: 'GET', path: `/${t.name}`, query: 'comp=auditexport' }),
    status: 200,
    check: async (res, t) => {
      const lines = res.body
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      expect(lines.map(identity)).toEqual(await auditEvents(t));
    },
  },
  {
    name: 'Watch (extension)',
    call: (t) => ({ method: 'GET', path: `/${t.name}`, query: 'comp=watch&timeout=0' }),
    status: 200,
    check: (res) => expect(JSON.parse(res.body).events).toEqual([]),
  },
  {
    name: 'Create Share',
    call: (t) => ({ method: 'PUT', path: `/${t.name}/fresh-share`, query: 'restype=share' }),
    status: 201,
  },
  {
    name: 'Set Share Metadata',
    call: (t) => ({
      method: 'PUT',
      path: at(t),
      query: 'restype=share&comp=metadata',
      headers: { 'x-ms-meta-owner': t.owner },
    }),
    status: 200,
  },
  {
    name: 'Set Share Properties',
    call: (t) => ({
      method: 'PUT',
      path: at(t),
      query: 'restype=share&comp=properties',
      headers: { 'x-ms-share-quota': '5' },
    }),
    status: 200,
  },
  {
    name: 'Set Share ACL',
    call: (t) => ({ method: 'PUT', path: at(t), query: 'restype=share&comp=acl', body: aclBody(t) }),
    status: 200,
  },
  {
    name: 'Set File Service Properties',
    call: (t) => ({ method: 'PUT', path: `/${t.name}`, query: 'restype=service&comp=properties', body: corsBody(t) }),
    status: 202,
  },
  {
    name: 'Create Directory',
    call: (t) => ({ method: 'PUT', path: at(t, 'newdir'), query: 'restype=directory' }),
    status: 201,
  },
  {
    name: 'Set Directory Metadata',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'dir'),
      query: 'restype=directory&comp=metadata',
      headers: { 'x-ms-meta-owner': t.owner },
    }),
    status: 200,
  },
  {
    name: 'Set Directory Properties',
    call: (t) => ({ method: 'PUT', path: at(t, 'dir'), query: 'restype=directory&comp=properties' }),
    status: 200,
  },
  {
    name: 'Create File',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'dir/new.txt'),
      headers: { 'x-ms-type': 'file', 'x-ms-content-length': '10' },
    }),
    status: 201,
  },
  {
    name: 'Put Range',
    call: (t) => ({
      method: 'PUT',
      path: at(t, FILE),
      query: 'comp=range',
      headers: { 'x-ms-range': 'bytes=0-3', 'x-ms-write': 'update', 'x-ms-lease-id': t.leaseId },
      body: 'XXXX',
    }),
    status: 201,
  },
  {
    // Put Range From URL: the same route, with the source (the tenant's own file, under its own SAS) in x-ms-copy-source.
    name: 'Put Range',
    call: (t) => ({
      method: 'PUT',
      path: at(t, FILE),
      query: 'comp=range',
      headers: {
        'x-ms-range': 'bytes=4-7',
        'x-ms-write': 'update',
        'x-ms-lease-id': t.leaseId,
        'x-ms-copy-source': `${service.url}${at(t, 'dir/spare.txt')}?${readSas(t, 'dir/spare.txt')}`,
        'x-ms-source-range': 'bytes=0-3',
      },
    }),
    status: 201,
    check: async (res, t) =>
      expect(
        (await ok({ method: 'GET', path: at(t, FILE), headers: { 'x-ms-range': 'bytes=4-7' } }, t.signer, 206)).body,
      ).toBe(t.content.slice(0, 4)),
  },
  {
    name: 'Set File Metadata',
    call: (t) => ({
      method: 'PUT',
      path: at(t, FILE),
      query: 'comp=metadata',
      headers: { 'x-ms-lease-id': t.leaseId, 'x-ms-meta-owner': t.owner },
    }),
    status: 200,
  },
  {
    name: 'Set File Properties',
    call: (t) => ({
      method: 'PUT',
      path: at(t, FILE),
      query: 'comp=properties',
      headers: { 'x-ms-lease-id': t.leaseId, 'x-ms-content-type': 'text/plain' },
    }),
    status: 200,
  },
  {
    name: 'Lease File',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'dir/lease2.txt'),
      query: 'comp=lease',
      headers: { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '-1', 'x-ms-proposed-lease-id': t.lease2 },
    }),
    status: 201,
    check: (res, t) => expect(res.header('x-ms-lease-id')).toBe(t.lease2),
  },
  {
    name: 'Lease File',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'dir/lease2.txt'),
      query: 'comp=lease',
      headers: { 'x-ms-lease-action': 'change', 'x-ms-lease-id': t.lease2, 'x-ms-proposed-lease-id': t.lease3 },
    }),
    status: 200,
    check: (res, t) => expect(res.header('x-ms-lease-id')).toBe(t.lease3),
  },
  {
    name: 'Lease File',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'dir/lease2.txt'),
      query: 'comp=lease',
      headers: { 'x-ms-lease-action': 'break' },
    }),
    status: 202,
  },
  {
    name: 'Lease File',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'dir/lease2.txt'),
      query: 'comp=lease',
      headers: { 'x-ms-lease-action': 'release', 'x-ms-lease-id': t.lease3 },
    }),
    status: 200,
  },
  {
    name: 'Lease Share',
    call: (t) => ({
      method: 'PUT',
      path: at(t),
      query: 'restype=share&comp=lease',
      headers: { 'x-ms-lease-action': 'acquire', 'x-ms-lease-duration': '15', 'x-ms-proposed-lease-id': t.lease2 },
    }),
    status: 201,
    check: (res, t) => expect(res.header('x-ms-lease-id')).toBe(t.lease2),
  },
  {
    name: 'Lease Share',
    call: (t) => ({
      method: 'PUT',
      path: at(t),
      query: 'restype=share&comp=lease',
      headers: { 'x-ms-lease-action': 'release', 'x-ms-lease-id': t.lease2 },
    }),
    status: 200,
  },
  {
    name: 'Open Handle (extension)',
    call: (t) => ({
      method: 'PUT',
      path: at(t, FILE),
      query: 'comp=openhandle',
      headers: { 'x-leasehold-client-ip': '10.20.30.41:445', 'x-leasehold-client-name': t.clientName },
    }),
    status: 201,
  },
  {
    name: 'Close Handle (extension)',
    call: (t) => ({
      method: 'PUT',
      path: at(t, FILE),
      query: 'comp=closehandle',
      headers: { 'x-leasehold-handle-id': t.handles[0].id, 'x-leasehold-session-id': t.handles[0].session },
    }),
    status: 200,
  },
  {
    name: 'Force Close Handles',
    call: (t) => ({
      method: 'PUT',
      path: at(t, FILE),
      query: 'comp=forceclosehandles',
      headers: { 'x-ms-handle-id': t.handles[1].id },
    }),
    status: 200,
    check: (res) => expect(res.header('x-ms-number-of-handles-closed')).toBe('1'),
  },
  {
    name: 'Submit Force Close Job (extension)',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'dir'),
      query: 'comp=forceclosejob',
      headers: { 'x-ms-handle-id': '*', 'x-leasehold-idempotency-key': `${t.name}-third` },
    }),
    status: 202,
  },
  {
    name: 'Cancel Force Close Job (extension)',
    call: (t) => ({ method: 'DELETE', path: `/${t.name}`, query: `comp=forceclosejob&jobid=${t.jobs[0]}` }),
    status: 202,
  },
  {
    name: 'Create File',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'dir/copy.txt'),
      headers: { 'x-ms-copy-source': `${service.url}${at(t, FILE)}`, 'x-ms-meta-owner': t.owner },
    }),
    status: 202,
    check: async (res, t) => {
      const { rows } = await db.query(
        `SELECT copy->>'id' AS id FROM nodes WHERE tenant = $1 AND path_key = 'dir/copy.txt'`,
        [t.name],
      );
      expect(res.header('x-ms-copy-id')).toBe(rows[0].id);
    },
  },
  {
    name: 'Abort Copy File',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'dir/copy.txt'),
      query: 'comp=copy&copyid=00000000-0000-0000-0000-000000000001',
      headers: { 'x-ms-copy-action': 'abort' },
    }),
    status: 409,
  },
  {
    name: 'Rename File',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'dir/renamed.txt'),
      query: 'comp=rename',
      headers: { 'x-ms-file-rename-source': `${service.url}${at(t, 'dir/new.txt')}` },
    }),
    status: 200,
    check: async (res, t) => {
      const { rows } = await db.query(
        `SELECT file_id::text FROM nodes WHERE tenant = $1 AND path_key = 'dir/renamed.txt'`,
        [t.name],
      );
      expect(res.header('x-ms-file-id')).toBe(rows[0].file_id);
    },
  },
  {
    name: 'Rename Directory',
    call: (t) => ({
      method: 'PUT',
      path: at(t, 'renameddir'),
      query: 'restype=directory&comp=rename',
      headers: { 'x-ms-file-rename-source': `${service.url}${at(t, 'newdir')}` },
    }),
    status: 200,
  },
  {
    name: 'Snapshot Share',
    call: (t) => ({ method: 'PUT', path: at(t), query: 'restype=share&comp=snapshot' }),
    status: 201,
  },
  {
    name: 'Delete Share',
    call: (t) => ({ method: 'DELETE', path: at(t), query: `restype=share&sharesnapshot=${t.snapshot}` }),
    status: 202,
  },
  { name: 'Delete File', call: (t) => ({ method: 'DELETE', path: at(t, 'dir/spare.txt') }), status: 202 },
  {
    name: 'Delete Directory',
    call: (t) => ({ method: 'DELETE', path: at(t, 'empty'), query: 'restype=directory' }),
    status: 202,
  },
  {
    name: 'Delete Share',
    call: (t) => ({
      method: 'DELETE',
      path: at(t),
      query: 'restype=share',
      headers: { 'x-ms-delete-snapshots': 'include' },
    }),
    status: 202,
  },
];

/** A's credentials presented for B's URL, every way they can be: A's account, B's account with A's keys, A's SAS tokens. */
function foreignCredentials(): { label: string; sign(call: Call): Call & { signer?: Signer }; ownUse?: Call }[] {
  const credential = new StorageSharedKeyCredential(A.name, A.key1);
  const expiresOn = new Date(Date.now() + 3600_000);
  const startsOn = new Date(Date.now() - 300_000);
  const accountSas = generateAccountSASQueryParameters(
    {
      permissions: AccountSASPermissions.parse('rwdlc'),
      services: AccountSASServices.parse('f').toString(),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      startsOn,
      expiresOn,
    },
    credential,
  ).toString();
  const shareSas = generateFileSASQueryParameters(
    { shareName: SHARE, permissions: ShareSASPermissions.parse('rcwdl'), startsOn, expiresOn },
    credential,
  ).toString();
  const withSas = (call: Call, sas: string) => ({ ...call, query: call.query ? `${call.query}&${sas}` : sas });
  return [
    { label: "A's Shared Key (A's account name)", sign: (call) => ({ ...call, signer: A.signer }) },
    {
      label: "B's account name signed with A's key1",
      sign: (call) => ({ ...call, signer: { account: B.name, key: A.key1 } }),
    },
    {
      label: "B's account name signed with A's key2",
      sign: (call) => ({ ...call, signer: { account: B.name, key: A.key2 } }),
    },
    // ownUse: the same token on A's own share, where it must work (so the refusal is about the tenant).
    {
      label: "A's account SAS",
      sign: (call) => withSas(call, accountSas),
      ownUse: withSas({ method: 'GET', path: at(A), query: 'restype=share' }, accountSas),
    },
    {
      label: "A's share SAS for a share of the same name",
      sign: (call) => withSas(call, shareSas),
      ownUse: withSas({ method: 'GET', path: at(A, FILE) }, shareSas),
    },
  ];
}

beforeAll(async () => {
  database = await createIsolatedDatabase('isolation');
  prefix = uniqueQueuePrefix('isolation');
  // One handle per Force Close Handles call, so that a call leaves a marker behind.
  service = await startTestService({ DATABASE_URL: database.url, QUEUE_PREFIX: prefix, FORCE_CLOSE_CHUNK_SIZE: '1' });
  db = new Pool({ connectionString: database.url, max: 4 });
  projectorPool = new Pool({ connectionString: database.url, max: 2 });
  const source = await createDataSource(database.url, 2).initialize();
  closeStore = () => source.destroy();
  projector = new AsyncProjector(projectorPool, new EventStore(source), auditProjection, 500);
  expect(await projector.lead()).toBe(true);
  A = await createTenant('a');
  B = await createTenant('b');
  await catchUp();
}, AUDIT_WAIT_MS);

afterAll(async () => {
  await projector?.resign();
  await projectorPool?.end();
  await closeStore?.();
  await db?.end();
  await service?.stop();
  if (prefix) await removeQueue(prefix);
  await database?.drop();
}, 60_000);

describe('tenant isolation', () => {
  it('the catalog covers every operation the service routes', () => {
    // By method too: one operation may have two routes (Get File Metadata answers GET and HEAD).
    const routed = service.api.app
      .get(OperationRouter)
      .operations()
      .map((o) => `${o.method} ${o.name}`);
    expect([...new Set(CATALOG.map((o) => `${o.call(A).method} ${o.name}`))].sort()).toEqual([...routed].sort());
  });

  it('(a) A cannot reach B: every operation, every kind of foreign credential, 403 AuthenticationFailed and nothing changes', async () => {
    const before = { a: await snapshot(A.name), b: await snapshot(B.name) };
    let refused = 0;
    for (const credentials of foreignCredentials()) {
      if (credentials.ownUse) expect((await sendRaw(service.url, credentials.ownUse)).status).toBe(200);
      for (const operation of CATALOG) {
        const call = operation.call(B);
        const res = await sendRaw(service.url, credentials.sign(call));
        try {
          expectAzureError(res, call.method, 403, 'AuthenticationFailed');
        } catch (error) {
          throw new Error(`${operation.name} with ${credentials.label}: ${(error as Error).message}`);
        }
        expect(await snapshot(B.name)).toEqual(before.b);
        expect(await snapshot(A.name)).toEqual(before.a);
        refused++;
      }
    }
    expect(refused).toBe(CATALOG.length * 5);
  });

  it('(c) markers, cursors, job ids and handle ids obtained by A are useless to B', async () => {
    const before = { a: await snapshot(A.name), b: await snapshot(B.name) };
    const unchanged = async () => {
      expect(await snapshot(A.name)).toEqual(before.a);
      expect(await snapshot(B.name)).toEqual(before.b);
    };
    /** A gets a marker from its own call; B presents it on the same call for its own tree: 400 with `code`, no data. */
    const replay = async (call: (t: Tenant) => Call, marker: string, code: string) => {
      const b = call(B);
      const res = await send({ ...b, query: `${b.query}&marker=${encodeURIComponent(marker)}` }, B.signer);
      expectAzureError(res, b.method, 400, code);
      await unchanged();
      return res;
    };

    // List Handles: A's NextMarker, on B's share root with the same query.
    const listHandles = (t: Tenant): Call => ({
      method: 'GET',
      path: at(t),
      query: 'comp=listhandles&maxresults=1',
      headers: { 'x-ms-recursive': 'true' },
    });
    const handlesMarker = xmlValues((await ok(listHandles(A), A.signer, 200)).body, 'NextMarker')[0];
    expect(handlesMarker).toBeTruthy();
    await replay(listHandles, handlesMarker, 'InvalidQueryParameterValue');
    // The marker is a good one for A.
    expect(
      (
        await ok(
          { ...listHandles(A), query: `comp=listhandles&maxresults=1&marker=${encodeURIComponent(handlesMarker)}` },
          A.signer,
          200,
        )
      ).status,
    ).toBe(200);

    // Directory listing: A's NextMarker, on B's directory of the same path.
    const list = (t: Tenant): Call => ({
      method: 'GET',
      path: at(t, 'dir'),
      query: 'restype=directory&comp=list&maxresults=1',
    });
    const listMarker = xmlValues((await ok(list(A), A.signer, 200)).body, 'NextMarker')[0];
    expect(listMarker).toBeTruthy();
    await replay(list, listMarker, 'InvalidContinuationToken');
    const second = await ok(
      { ...list(A), query: `restype=directory&comp=list&maxresults=1&marker=${encodeURIComponent(listMarker)}` },
      A.signer,
      200,
    );
    expect(xmlValues(second.body, 'Name')).toEqual(['lease2.txt']);

    // List Shares: A's NextMarker, on B's account with the same query.
    const shares = (t: Tenant): Call => ({ method: 'GET', path: `/${t.name}`, query: 'comp=list&maxresults=1' });
    const sharesMarker = xmlValues((await ok(shares(A), A.signer, 200)).body, 'NextMarker')[0];
    expect(sharesMarker).toBeTruthy();
    await replay(shares, sharesMarker, 'InvalidContinuationToken');
    expect(
      xmlValues(
        (
          await ok(
            { ...shares(A), query: `comp=list&maxresults=1&marker=${encodeURIComponent(sharesMarker)}` },
            A.signer,
            200,
          )
        ).body,
        'Name',
      ),
    ).toEqual(['second-share']);

    // Jobs list: A's NextMarker.
    const jobs = (t: Tenant): Call => ({
      method: 'GET',
      path: `/${t.name}`,
      query: 'comp=forceclosejobs&maxresults=1',
    });
    const jobsMarker = xmlValues((await ok(jobs(A), A.signer, 200)).body, 'NextMarker')[0];
    expect(jobsMarker).toBeTruthy();
    await replay(jobs, jobsMarker, 'InvalidQueryParameterValue');
    await ok(
      { ...jobs(A), query: `comp=forceclosejobs&maxresults=1&marker=${encodeURIComponent(jobsMarker)}` },
      A.signer,
      200,
    );

    // Audit cursors: account-wide and for one path.
    for (const audit of [
      (t: Tenant): Call => ({ method: 'GET', path: `/${t.name}`, query: 'comp=auditevents&maxresults=1' }),
      (t: Tenant): Call => ({ method: 'GET', path: at(t, FILE), query: 'comp=auditevents&maxresults=1&order=asc' }),
    ]) {
      const cursor = JSON.parse((await ok(audit(A), A.signer, 200)).body).nextMarker;
      expect(cursor).toBeTruthy();
      await replay(audit, cursor, 'InvalidQueryParameterValue');
      await ok({ ...audit(A), query: `${audit(A).query}&marker=${encodeURIComponent(cursor)}` }, A.signer, 200);
    }
    await unchanged();

    // A's job ids: B can neither read nor cancel them, nor find them in its audit trail.
    for (const jobId of A.jobs) {
      expectAzureError(
        await send({ method: 'GET', path: `/${B.name}`, query: `comp=forceclosejob&jobid=${jobId}` }, B.signer),
        'GET',
        404,
        'JobNotFound',
      );
      expectAzureError(
        await send({ method: 'DELETE', path: `/${B.name}`, query: `comp=forceclosejob&jobid=${jobId}` }, B.signer),
        'DELETE',
        404,
        'JobNotFound',
      );
      const audit = await ok(
        { method: 'GET', path: `/${B.name}`, query: `comp=auditevents&jobid=${jobId}` },
        B.signer,
        200,
      );
      expect(JSON.parse(audit.body).events).toEqual([]);
    }
    await unchanged();

    // A's handle ids in B's Force Close Handles (recursive from the root, and on the same file): nothing closed.
    for (const h of A.handles) {
      for (const call of [
        {
          method: 'PUT',
          path: at(B),
          query: 'comp=forceclosehandles',
          headers: { 'x-ms-handle-id': h.id, 'x-ms-recursive': 'true' },
        },
        { method: 'PUT', path: at(B, FILE), query: 'comp=forceclosehandles', headers: { 'x-ms-handle-id': h.id } },
      ]) {
        const res = await ok(call, B.signer, 200);
        expect(res.header('x-ms-number-of-handles-closed')).toBe('0');
        expect(res.header('x-ms-marker')).toBeUndefined();
      }
      // …nor in B's Close Handle, even with the session id that proves holding it.
      const close = await send(
        {
          method: 'PUT',
          path: at(B, FILE),
          query: 'comp=closehandle',
          headers: { 'x-leasehold-handle-id': h.id, 'x-leasehold-session-id': h.session },
        },
        B.signer,
      );
      expectAzureError(close, 'PUT', 404, 'ResourceNotFound');
      // …nor in B's audit filters.
      const audit = await ok(
        { method: 'GET', path: `/${B.name}`, query: `comp=auditevents&handleid=${h.id}` },
        B.signer,
        200,
      );
      expect(JSON.parse(audit.body).events).toEqual([]);
    }
    expect(await openHandleIds(A)).toEqual(A.handles.map((h) => h.id).sort());
    const byLease = await ok(
      { method: 'GET', path: `/${B.name}`, query: `comp=auditevents&leaseid=${A.leaseId}` },
      B.signer,
      200,
    );
    expect(JSON.parse(byLease.body).events).toEqual([]);
    await unchanged();

    // Force Close Handles: A's x-ms-marker (one handle per call here), on B's directory of the same path.
    const forceClose = (t: Tenant): Call => ({
      method: 'PUT',
      path: at(t, 'closeme'),
      query: 'comp=forceclosehandles',
      headers: { 'x-ms-handle-id': '*' },
    });
    const first = await ok(forceClose(A), A.signer, 200);
    expect(first.header('x-ms-number-of-handles-closed')).toBe('1');
    const closeMarker = first.header('x-ms-marker')!;
    expect(closeMarker).toBeTruthy();
    before.a = await snapshot(A.name);
    await replay(forceClose, closeMarker, 'InvalidQueryParameterValue');
    expect((await openHandleIds(B)).length).toBe(B.handles.length);
    // A continues where its marker says: the other handle.
    const rest = await ok(
      { ...forceClose(A), query: `comp=forceclosehandles&marker=${encodeURIComponent(closeMarker)}` },
      A.signer,
      200,
    );
    expect(rest.header('x-ms-number-of-handles-closed')).toBe('1');
    expect(await openHandleIds(A)).toEqual(
      A.handles
        .slice(0, 3)
        .map((h) => h.id)
        .sort(),
    );
    expect(await snapshot(B.name)).toEqual(before.b);
    // Reopen A's two so that (b) starts from the same tree as B's.
    A.handles.splice(3, 2, await openHandle(A, 'closeme'), await openHandle(A, 'closeme'));
  });

  it.each([
    ['A', () => [A, B] as const],
    ['B', () => [B, A] as const],
  ])(
    '(b) %s on its own URLs: every operation works and shows nothing of the other tenant, who stays unchanged',
    async (_, pair) => {
      const [self, other] = pair();
      await catchUp();
      const tokens = await tokensOf(other);
      const otherBefore = await snapshot(other.name);
      for (const operation of CATALOG) {
        const call = operation.call(self);
        const res = await send(call, self.signer);
        try {
          expect(res.status).toBe(operation.status);
          await operation.check?.(res, self);
          expectNothingOf(res, tokens);
          expect(await snapshot(other.name)).toEqual(otherBefore);
        } catch (error) {
          throw new Error(
            `${operation.name} (${call.method} ${call.path}?${call.query ?? ''}): ${(error as Error).message}\n${res.body.slice(0, 500)}`,
          );
        }
      }
    },
    AUDIT_WAIT_MS,
  );
});
