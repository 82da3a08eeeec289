import { CommandContext, decideLease, LeaseCommand, NodeState } from '@leasehold/domain';
import { EventStore, SqlExecutor } from '@leasehold/event-store';
import { NodeRepository, NodeWriter, RecentNodes } from '@leasehold/filesystem';

/**
 * Baseline (a): the SQL one lease operation costs, for pgbench. The statements are not copied by
 * hand: they are captured from the service's own code (NodeRepository.locate, the lease decider,
 * NodeWriter.commit → EventStore.appendEach, a batch of one) run against a recording executor, so the baseline follows
 * the service when its SQL changes. State values are sentinels; each captured parameter is mapped
 * back, by value, to the pgbench variable it must carry, and an unmapped one stops the run.
 *
 * pgbench cannot build strings per transaction, so a parameter that is a per-operation string
 * becomes an SQL expression of the same type (the stream id, the client-generated event id, a
 * NULL, a JSON row of state values); `substitutions` lists the ones used. Event payloads are
 * constants of the same size.
 */

// node-pg's own text encoding of parameters, so constants reach PostgreSQL exactly as the service sends them.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- pg/lib/utils has no type declarations to import
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => string | null };

export const TENANT = 'devstoreaccount1';
/** pgbench's lease id: one for all its clients; holding is tracked per client by the script. */
export const PGBENCH_LEASE_ID = '0b0b0b0b-0000-4000-8000-000000000001';

const SENTINEL = {
  shareId: '990001',
  fileId: '660001',
  parentId: '550001',
  createdAt: '2000-01-02T03:04:05.006Z',
  file: 'SentinelFile',
  metadata: { sentinel: 'metadata' },
  properties: { contentType: 'sentinel/properties' },
  contentLength: 880001,
  etag: '"0x8SENTINELETAG"',
  lastModified: '2001-02-03T04:05:06.007Z',
  epoch: 7001,
  version: 5001,
};

interface Captured {
  sql: string;
  params: unknown[];
}

function recorder(): { sql: SqlExecutor; calls: Captured[] } {
  const calls: Captured[] = [];
  return {
    calls,
    sql: {
      async query<R>(sql: string, params: unknown[] = []) {
        calls.push({ sql, params });
        // Enough of a row for locate() to return; for an append, every event applied (the ids it
        // returns are among the parameters).
        const ids = params.flatMap((p) => (Array.isArray(p) ? p : [])).filter((v) => typeof v === 'string');
        return [
          { share_id: SENTINEL.shareId, file_id: null, stream_version: 1 },
          ...ids.map((id) => ({ event_id: id })),
        ] as R[];
      },
    },
  };
}

function sentinelNode(lease: NodeState['lease'], version: number): NodeState {
  return {
    kind: 'file',
    fileId: SENTINEL.fileId,
    parentId: SENTINEL.parentId,
    path: SENTINEL.file,
    metadata: SENTINEL.metadata,
    properties: SENTINEL.properties,
    contentLength: SENTINEL.contentLength,
    etag: SENTINEL.etag,
    createdAt: SENTINEL.createdAt,
    lastModified: SENTINEL.lastModified,
    lease,
    version,
  };
}

export interface PgbenchStatements {
  locate: string;
  acquire: string;
  release: string;
  /** -D NAME=VALUE constants the statements use. */
  constants: Record<string, string>;
  /** Where the pgbench statements differ from the service's, for the report. */
  substitutions: string[];
}

/** Captures the service's statements and rewrites their $n placeholders into pgbench terms. */
export async function captureLeaseStatements(shareName: string): Promise<PgbenchStatements> {
  const rec = recorder();
  // A store whose pool records its statements. The NOTIFY it sends after each commit (a plain
  // string, not a prepared statement) is left out of the script: it tells watchers, one at a time
  // per process, and is no part of the lease decision.
  const pool = {
    query: async (statement: string | { text: string; values?: unknown[] }) =>
      typeof statement === 'string' ? { rows: [] } : { rows: await rec.sql.query(statement.text, statement.values) },
  };
  const store = new EventStore({ driver: { master: pool } } as unknown as ConstructorParameters<typeof EventStore>[0]);
  const nodes = new NodeRepository(store);
  const writer = new NodeWriter(store, nodes, new RecentNodes());
  const context: CommandContext = {
    requestId: '00000000-0000-4000-8000-000000000000', // a request id is a UUID: same size as the real ones
    tenant: TENANT,
    principal: TENANT,
    authentication: 'SharedKey',
    now: new Date(SENTINEL.lastModified),
  };

  const located = await nodes.locate(TENANT, shareName, [SENTINEL.file], rec.sql);
  if (rec.calls.length !== 1) throw new Error(`pgbench: locate() ran ${rec.calls.length} statements, expected 1`);
  const locateCall = rec.calls[0];

  const commitFor = async (state: NodeState, command: LeaseCommand): Promise<Captured> => {
    const decision = decideLease(command, state.lease);
    if ('error' in decision) throw new Error(`pgbench: sentinel ${command.action} was refused: ${decision.error}`);
    rec.calls.length = 0;
    // Outside a transaction, as the lease handler commits: the batched update, here a batch of one.
    await writer.commit(context, { ...located, node: state }, decision.events);
    if (rec.calls.length !== 1)
      throw new Error(`pgbench: ${command.action} ran ${rec.calls.length} statements, expected 1`);
    if (decision.events.length !== 1)
      throw new Error(`pgbench: ${command.action} appended ${decision.events.length} events, expected 1`);
    return rec.calls[0];
  };
  const available = sentinelNode({ status: 'available', epoch: SENTINEL.epoch }, SENTINEL.version);
  const leased = sentinelNode(
    { status: 'leased', leaseId: PGBENCH_LEASE_ID, epoch: SENTINEL.epoch + 1 },
    SENTINEL.version + 1,
  );
  const acquireCall = await commitFor(available, {
    action: 'acquire',
    proposedLeaseId: PGBENCH_LEASE_ID,
    generatedLeaseId: PGBENCH_LEASE_ID,
  });
  const releaseCall = await commitFor(leased, { action: 'release', leaseId: PGBENCH_LEASE_ID });

  const constants: Record<string, string> = {};
  const substitutions = new Set<string>();
  // Values every statement may carry; the variables set by \gset from locate() are its column names.
  const common = new Map<string, string>([
    [SENTINEL.shareId, ':share_id'],
    [SENTINEL.file.toLowerCase(), ':f'],
    [JSON.stringify(SENTINEL.metadata), ':metadata'],
    [JSON.stringify(SENTINEL.properties), ':properties'],
    [String(SENTINEL.contentLength), ':content_length'],
    [SENTINEL.etag, ':etag'],
    [SENTINEL.lastModified, ':last_modified'],
    [`node-${SENTINEL.fileId}`, `('node-' || :file_id)`], // the stream id
    // Whole-row values (a projection may take the node's row as one JSON parameter).
    [SENTINEL.fileId, ':file_id'],
    [SENTINEL.parentId, ':parent_id'],
    [SENTINEL.createdAt, ':created_at'],
    [SENTINEL.file, ':path'],
    ['file', ':kind'],
    ['', ':c_parent_key'],
  ]);
  const constant = (name: string) => (value: string) => {
    constants[name] = value;
    return `:${name}`;
  };

  const rewrite = (call: Captured, label: string, specific: Map<string, string>, named: string[]): string => {
    const lookup = (text: string) => specific.get(text) ?? common.get(text);
    // A JSON object parameter of state values (e.g. a whole node row) is rebuilt field by field
    // with jsonb_build_object from the pgbench variables; each field is cast to its JSON type.
    const jsonObject = (value: Record<string, unknown>, where: string): string => {
      const fields = Object.entries(value).map(([key, v]) => {
        if (v === null || v === undefined) return `'${key}', NULL`;
        const isObject = typeof v === 'object';
        // Numbers and booleans read the same as JSON as they do as text.
        const expression = lookup(typeof v === 'string' ? v : JSON.stringify(v));
        if (!expression) throw new Error(`pgbench: ${where} field ${key} (${JSON.stringify(v)}) has no mapping`);
        const cast = isObject
          ? 'jsonb'
          : typeof v === 'number'
            ? 'bigint'
            : typeof v === 'boolean'
              ? 'boolean'
              : 'text';
        return `'${key}', (${expression})::${cast}`;
      });
      return `jsonb_build_object(${fields.join(', ')})`;
    };
    let nextConstant = 0;
    const expression = (param: unknown, i: number): string => {
      // A batch of one: each array parameter holds one value, rebuilt as ARRAY[expression].
      if (Array.isArray(param)) {
        if (param.length !== 1)
          throw new Error(`pgbench: ${label} parameter $${i + 1} is an array of ${param.length}, expected 1`);
        substitutions.add('each one-element array parameter of the batched statement is `ARRAY[...]` of its value');
        return `ARRAY[${expression(param[0], i)}]`;
      }
      const text = prepareValue(param);
      if (text === null) {
        substitutions.add('a NULL parameter (the released lease id) is a NULL literal');
        return 'NULL';
      }
      const mapped = lookup(text);
      if (mapped) {
        if (mapped.startsWith(`('node-'`)) substitutions.add("the stream id parameter is `('node-' || :file_id)`");
        return mapped;
      }
      if (typeof param === 'string' && param.startsWith('{"share_id"')) {
        substitutions.add('the node-row JSON parameter is rebuilt by `jsonb_build_object(...)` from pgbench variables');
        return jsonObject(JSON.parse(param) as Record<string, unknown>, `${label} parameter $${i + 1}`);
      }
      if (typeof param === 'string' && /^[0-9a-f-]{36}$/.test(param) && param !== PGBENCH_LEASE_ID) {
        substitutions.add('the client-generated event id is `gen_random_uuid()`');
        return 'gen_random_uuid()';
      }
      // The remaining parameters must be the per-operation constants, in order: the request's
      // place in the batch, event type, schema version, payload, metadata.
      const name = named[nextConstant++];
      if (!name) throw new Error(`pgbench: ${label} parameter $${i + 1} (${text}) has no mapping`);
      return constant(name)(text);
    };
    const expressions = call.params.map(expression);
    if (nextConstant !== named.length)
      throw new Error(`pgbench: ${label} used ${nextConstant} constants, expected ${named.length}`);
    return call.sql.replace(/\$(\d+)/g, (_, n: string) => expressions[Number(n) - 1]);
  };

  const locate = rewrite(
    locateCall,
    'locate',
    new Map([
      [TENANT, constant('c_tenant')(TENANT)],
      [shareName, constant('c_share')(shareName)],
      ['', ':c_parent_key'],
    ]),
    [],
  );
  const acquire = rewrite(
    acquireCall,
    'acquire',
    new Map([
      ['leased', constant('c_leased')('leased')],
      [PGBENCH_LEASE_ID, constant('c_lease_id')(PGBENCH_LEASE_ID)],
      [String(SENTINEL.epoch + 1), ':epoch_next'],
      [String(SENTINEL.version + 1), ':version_next'],
      [String(SENTINEL.version), ':version'],
      [TENANT, ':c_tenant'],
    ]),
    ['c_ord', 'c_acquire_type', 'c_acquire_schema', 'c_acquire_data', 'c_metadata'],
  );
  const release = rewrite(
    releaseCall,
    'release',
    new Map([
      ['available', constant('c_available')('available')],
      [String(SENTINEL.epoch + 1), ':lease_epoch'],
      [String(SENTINEL.version + 2), ':version_next'],
      [String(SENTINEL.version + 1), ':version'],
      [TENANT, ':c_tenant'],
    ]),
    ['c_ord', 'c_release_type', 'c_release_schema', 'c_release_data', 'c_metadata'],
  );
  substitutions.add(
    'lease-event payloads and event metadata are constants of the same size (the epoch inside the payload does not advance)',
  );
  substitutions.add("the service's NOTIFY after a commit (one in flight per process, for watchers) is left out");
  // The script learns whether an append applied from \aset: its RETURNING also names the version.
  const returningVersion = (statement: string) => {
    if (!/RETURNING event_id\s*$/.test(statement))
      throw new Error('pgbench: the append no longer ends in RETURNING event_id');
    substitutions.add('the append also returns `stream_version`, which the script reads with `\\aset`');
    return statement.replace(/RETURNING event_id\s*$/, 'RETURNING event_id, stream_version');
  };
  return {
    locate,
    acquire: returningVersion(acquire),
    release: returningVersion(release),
    constants,
    substitutions: [...substitutions],
  };
}

/**
 * One pgbench transaction = one lease operation, as one HTTP request is one for Leasehold, with the
 * statements the service runs for it. Like the service's RecentNodes, each client remembers the
 * state it last read or wrote (pgbench variables live on from one transaction to the next; the
 * service's memory is shared by all its clients, pgbench's is per client), and:
 * - a holder releases on its remembered state: the write alone;
 * - a client that remembers its file available tries the acquire write alone; when the version
 *   guard refuses it, it reads the file (locate) and decides again, as the service's retry does;
 * - otherwise it reads the file, and acquires only when the file is available, so a refused
 *   acquire costs the read alone, as in the service.
 * pgbench cannot compare strings, so "available" is read from the version: a file is created at
 * version 1 and each acquire and release adds one, so odd = available (the runner checks this
 * holds before every pgbench run).
 */
export function pgbenchScript(statements: PgbenchStatements, hotFile: string | undefined): string {
  const attemptAcquire = [
    '\\set version_next :version + 1',
    '\\set epoch_next :lease_epoch + 1',
    '\\set stream_version 0',
    `${statements.acquire.trim()} \\aset`,
  ];
  const afterAcquire = [
    '\\if :stream_version > 0',
    '\\set holding 1',
    '\\set version :version + 1',
    '\\set lease_epoch :lease_epoch + 1',
    '\\endif',
  ];
  const locate = [`${statements.locate.trim()} \\gset`, '\\set known 1'];
  return [
    // pgbench -D refuses an empty value, so the share root's parent key ('') is set once per client.
    '\\if :ready = 0',
    "SELECT '' AS c_parent_key \\gset",
    '\\set known 0',
    '\\set ready 1',
    '\\endif',
    hotFile === undefined ? '\\set f :client_id + 1' : `\\set f ${Number(hotFile)}`,
    '\\if :holding',
    '\\set version_next :version + 1',
    `${statements.release.trim()};`,
    '\\set holding 0',
    '\\set version :version + 1',
    '\\elif :known = 1 AND :version % 2 = 1',
    ...attemptAcquire,
    '\\if :stream_version = 0',
    // The guard refused the remembered state: read, and acquire if the file is available after all.
    ...locate,
    '\\if :version % 2 = 1',
    ...attemptAcquire,
    ...afterAcquire,
    '\\endif',
    '\\else',
    ...afterAcquire,
    '\\endif',
    '\\else',
    ...locate,
    '\\if :version % 2 = 1',
    ...attemptAcquire,
    ...afterAcquire,
    '\\endif',
    '\\endif',
    '',
  ].join('\n');
}
