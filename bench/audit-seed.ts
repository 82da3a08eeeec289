import { decideFileAccess, decideLease, evolveNode, LeaseCommand, NodeState } from '@leasehold/domain';
import { Client } from 'pg';
import { RANDOM_ID } from './force-close-seed';

/**
 * Seeds the event log of the audit benchmark with set-based SQL: exactly `events` events (counting
 * what the migration wrote), the shapes the service writes, in recorded_at order so that positions
 * (and later the audit read model's seq) grow with time as they do in service. Only events are
 * written: the current-state tables come from `projections:rebuild`, the audit read model from
 * the AsyncProjector, so both are consistent with the log by construction.
 *
 * Shape: `tenants` accounts (the first is `queried`, created by `migrate`), `shares` shares each,
 * per share a tree Team0…Team9 / Project0…Project9 / Doc-<k>.bin (three levels), files created in
 * the first month of a 180-day window. Per file a skewed number of lease cycles (most files a few,
 * 1 % about twenty times more); each cycle is eight events from one client session:
 *
 *   handle-<h> v1 HandleOpened · LeaseAcquired · FileRangeWritten · LeaseChanged or FileRangeWritten ·
 *   FileMetadataSet or FileRangeWritten · FileRangeWritten · LeaseReleased or LeaseBroken (or, in a
 *   file's last cycle, one more write with the lease kept) · handle-<h> v2 HandleClosed, or (8 %)
 *   closure-<uuid> v1 HandlesForceClosed naming that one handle, as Force Close Handles with its id records
 *
 * One file in 20 ends with a handle still open; the last few events (events mod 8) are extra
 * writes on available files, so the total comes out exact.
 */

export interface SeedOptions {
  events: number;
  tenants: number;
  shares: number;
  /** The tenant queried through HTTP: created by `migrate`, so it already has its account and keys. */
  queried: string;
  /** End of the timeline (the run's start). */
  now: Date;
  /** setseed() argument, in [-1, 1]: the same value gives the same plan (ids and uuids aside). */
  seed: number;
  progress?: (inserted: number, total: number) => void;
}

export interface SeedResult {
  events: number;
  files: number;
  directories: number;
  cycles: number;
  openHandles: number;
  filler: number;
  filesPerLeaf: number;
  seconds: number;
}

const LEVEL1 = 10;
const LEVEL2 = 10;
/** Events per file on average that the files-per-directory estimate aims at: FileCreated + ~4.5 cycles of 8. */
const EVENTS_PER_FILE = 37;
const SLICE_EVENTS = 50_000;
const SHARE_NAMES = ['projects', 'archive', 'finance', 'media', 'scratch', 'builds'];

// ISO 8601 with milliseconds, as JSON.stringify writes the service's `at` stamps.
const iso = (ts: string) => `to_char((${ts}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
// Azure-shaped ETag and a base64 MD5, derived from a number so that no random() is needed per event.
const etag = (n: string) => `'"0x8' || upper(substr(md5((${n})::text || 'etag'), 1, 13)) || '"'`;
const md5b64 = (n: string) => `encode(decode(md5((${n})::text), 'hex'), 'base64')`;

export async function seedAuditEvents(db: Client, o: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const q = (text: string, params: unknown[] = []) => db.query(text, params);
  const filesPerLeaf = Math.max(1, Math.round(o.events / EVENTS_PER_FILE / (o.tenants * o.shares * LEVEL1 * LEVEL2)));
  const [{ n: existing }] = (await q(`SELECT count(*)::int AS n FROM events`)).rows;

  await q(`DROP SCHEMA IF EXISTS bench_seed CASCADE`);
  await q(`CREATE SCHEMA bench_seed`);
  // Calendar arithmetic ('180 days') in UTC, so the slices below (plain milliseconds) line up with it.
  await q(`SET TIME ZONE 'UTC'`);
  // Sorting a slice of 50,000 generated rows in memory rather than on disk.
  await q(`SET work_mem = '256MB'`);
  await q(`SELECT setseed($1)`, [o.seed]);
  const window = [o.now.toISOString()];
  // ws: start of the 180-day window; we: one hour before now (the open handles and the extra writes come after).
  const ws = `($1::timestamptz - interval '180 days')`;
  const we = `($1::timestamptz - interval '1 hour')`;

  await q(
    `CREATE UNLOGGED TABLE bench_seed.tenants AS
     SELECT t, CASE WHEN t = 0 THEN $1 ELSE 'benchtenant' || lpad(t::text, 2, '0') END AS tenant
     FROM generate_series(0, $2::int - 1) t`,
    [o.queried, o.tenants],
  );
  await q(
    `CREATE UNLOGGED TABLE bench_seed.shares AS
     SELECT t.t, t.tenant, s, nextval('public.node_ids') AS share_id,
            ($2::text[])[1 + s % array_length($2::text[], 1)] || CASE WHEN s >= array_length($2::text[], 1) THEN s::text ELSE '' END AS name,
            ${ws} + random() * interval '1 day' AS at
     FROM bench_seed.tenants t CROSS JOIN generate_series(0, $3::int - 1) s ORDER BY t.t, s`,
    [...window, SHARE_NAMES, o.shares],
  );
  await q(
    `CREATE UNLOGGED TABLE bench_seed.dirs AS
     WITH l1 AS (
       SELECT s.tenant, s.share_id, nextval('public.node_ids') AS file_id, 0::bigint AS parent_id, 'Team' || i AS path,
              s.at + (1 + i) * interval '1 minute' AS at
       FROM bench_seed.shares s CROSS JOIN generate_series(0, ${LEVEL1 - 1}) i ORDER BY s.share_id, i
     ), l2 AS (
       SELECT l1.tenant, l1.share_id, nextval('public.node_ids') AS file_id, l1.file_id AS parent_id, l1.path || '/Project' || j AS path,
              l1.at + (1 + j) * interval '1 second' AS at
       FROM l1 CROSS JOIN generate_series(0, ${LEVEL2 - 1}) j ORDER BY l1.file_id, j
     )
     SELECT *, 1 AS level FROM l1 UNION ALL SELECT *, 2 FROM l2`,
  );
  await q(
    `CREATE UNLOGGED TABLE bench_seed.files AS
     SELECT row_number() OVER (ORDER BY d.file_id, k) AS fidx, d.tenant, d.share_id, nextval('public.node_ids') AS file_id,
            d.file_id AS parent_id, d.path || '/Doc-' || lpad(k::text, 3, '0') || '.bin' AS path,
            ${ws} + interval '2 days' + random() * interval '28 days' AS at,
            1048576 * (1 + floor(random() * 8))::bigint AS len,
            -ln(1 - random()) * CASE WHEN random() < 0.01 THEN 20 ELSE 1 END AS weight,
            0 AS cycles
     FROM bench_seed.dirs d CROSS JOIN generate_series(0, $2::int - 1) k WHERE d.level = 2`,
    [...window, filesPerLeaf],
  );
  const [{ files, directories, open }] = (
    await q(`SELECT (SELECT count(*)::int FROM bench_seed.files) AS files, (SELECT count(*)::int FROM bench_seed.dirs) AS directories,
                    (SELECT count(*)::int FROM bench_seed.files WHERE fidx % 20 = 0) AS open`)
  ).rows;
  const fixed = existing + (o.tenants - 1) + o.tenants * o.shares + directories + files + open;
  const rest = o.events - fixed;
  if (rest < 8)
    throw new Error(`${o.events} events are too few for ${files} files (${fixed} events before any lease cycle)`);
  const cycles = Math.floor(rest / 8);
  const filler = rest - cycles * 8;

  // Cycles per file in proportion to its weight, the remainder to the largest fractional parts.
  await q(
    `WITH w AS (SELECT fidx, $1::bigint * weight / sum(weight) OVER () AS share FROM bench_seed.files),
          r AS (SELECT fidx, floor(share)::int AS base, row_number() OVER (ORDER BY share - floor(share) DESC, fidx) AS rank FROM w),
          left_over AS (SELECT $1::bigint - sum(base) AS n FROM r)
     UPDATE bench_seed.files f SET cycles = r.base + CASE WHEN r.rank <= (SELECT n FROM left_over) THEN 1 ELSE 0 END
     FROM r WHERE r.fidx = f.fidx`,
    [cycles],
  );
  await q(`CREATE INDEX ON bench_seed.files (at)`);

  // Cycle j of a file sits in the j-th of equal slots between the file's creation and the window's
  // end, its eight events `step` apart: no two cycles of a file overlap, versions follow time. Its
  // handle has a random id, as the service's do; event_base + k (k < 8) numbers its events, for the
  // ETags, MD5s and ranges derived from them, far above the node ids those of creations derive from.
  await q(
    `CREATE UNLOGGED TABLE bench_seed.cycles AS
     WITH c AS (
       SELECT f.tenant, f.share_id, f.file_id, f.parent_id, f.path, f.len, j, f.cycles,
              f.at + interval '1 hour' + ((${we} - interval '2 hours') - (f.at + interval '1 hour')) * ((j + 0.1 + 0.8 * random()) / f.cycles) AS at,
              least(interval '90 seconds', ((${we} - interval '2 hours') - (f.at + interval '1 hour')) * (0.1 / 8 / f.cycles)) AS step,
              random() < 0.2 AS changed, random() < 0.12 AND j < f.cycles - 1 AS broken, random() < 0.1 AND j = f.cycles - 1 AS held,
              random() < 0.08 AS forced, random() < 0.1 AS meta,
              ${RANDOM_ID} AS handle_id, ${RANDOM_ID} AS session_id, (10000000000 + row_number() OVER ()) * 8 AS event_base,
              gen_random_uuid() AS lease1, gen_random_uuid() AS lease2, floor(random() * 400)::int AS client
       FROM bench_seed.files f CROSS JOIN LATERAL generate_series(0, f.cycles - 1) j
     )
     SELECT c.*, 1 + 6 * j AS v0,
            coalesce(sum(1 + changed::int + broken::int) OVER (PARTITION BY file_id ORDER BY j ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::int AS epoch0,
            CASE WHEN lag(broken) OVER (PARTITION BY file_id ORDER BY j) THEN 'broken' ELSE 'available' END AS previous
     FROM c`,
    window,
  );
  await q(`CREATE INDEX ON bench_seed.cycles (at)`);
  await q(
    `CREATE UNLOGGED TABLE bench_seed.opened AS
     SELECT f.tenant, f.share_id, f.file_id, f.parent_id, f.path, ${RANDOM_ID} AS handle_id,
            ${RANDOM_ID} AS session_id, ${we} + random() * interval '50 minutes' AS at, floor(random() * 400)::int AS client
     FROM bench_seed.files f WHERE f.fidx % 20 = 0`,
    window,
  );
  await q(
    `CREATE UNLOGGED TABLE bench_seed.filler AS
     SELECT c.tenant, c.file_id, 2 + 6 * c.cycles AS version, ${we} + random() * interval '50 minutes' AS at
     FROM bench_seed.cycles c WHERE c.j = c.cycles - 1 AND NOT c.held ORDER BY c.file_id LIMIT $2`,
    [...window, filler],
  );

  const cur = `CASE WHEN c.changed THEN c.lease2 ELSE c.lease1 END`;
  const h = `abs(hashint8(c.event_base + k)::bigint)`;
  const writeStart = `(${h} % (c.len / 65536)) * 65536`;
  const writeLength = `least(65536 * (1 + (${h} / 7) % 16), c.len - ${writeStart})`;
  const stamp = (at: string, n: string) => `'etag', ${etag(n)}, 'at', ${iso(at)}`;
  const write = (at: string, n: string, start: string, length: string) =>
    `jsonb_build_object(${stamp(at, n)}, 'start', ${start}, 'end', ${start} + ${length} - 1, 'length', ${length}, 'contentMD5', ${md5b64(n)})`;
  const handleOpened = (x: string) =>
    `jsonb_build_object('shareId', ${x}.share_id::text, 'handleId', ${x}.handle_id::text, 'fileId', ${x}.file_id::text, 'parentId', ${x}.parent_id::text,
       'sessionId', ${x}.session_id::text, 'path', ${x}.path, 'nodeKey', lower(${x}.path), 'clientName', 'WS-' || lpad(${x}.client::text, 4, '0'),
       'clientIp', '10.' || (${x}.client / 256) || '.' || (${x}.client % 256) || '.' || (1 + ${x}.handle_id % 250), 'access', '["Read","Write"]'::jsonb,
       'openTime', ${iso(`${x}.at`)})`;
  const cycleAt = `c.at + k * c.step`;

  // One statement per time slice, rows in time order: positions follow recorded_at, and each slice
  // is its own transaction (the service's log has many transaction ids, not one).
  const insertSlice = `
    INSERT INTO public.events (tenant, stream_id, stream_version, event_id, type, schema_version, data, metadata, recorded_at)
    SELECT e.tenant, e.stream_id, e.stream_version, gen_random_uuid(), e.type, 1, e.data,
           jsonb_build_object('requestId', gen_random_uuid()::text, 'principal', e.tenant, 'authentication', 'SharedKey')
             || CASE WHEN random() < 0.9 THEN jsonb_build_object('clientRequestId', gen_random_uuid()::text) ELSE '{}'::jsonb END,
           e.at
    FROM (
      SELECT t.tenant, 'account-' || t.tenant AS stream_id, 1 AS stream_version, 'AccountCreated' AS type,
             jsonb_build_object('name', t.tenant, 'createdAt', ${iso(`${ws} - interval '1 day'`)}) AS data, ${ws} - interval '1 day' AS at
      FROM bench_seed.tenants t WHERE t.t > 0 AND ${ws} - interval '1 day' >= $2 AND ${ws} - interval '1 day' < $3
      UNION ALL
      SELECT s.tenant, 'share-' || s.share_id, 1, 'ShareCreated',
             jsonb_build_object('shareId', s.share_id::text, 'name', s.name, 'quota', 102400, 'metadata', '{}'::jsonb, ${stamp('s.at', 's.share_id')}), s.at
      FROM bench_seed.shares s WHERE s.at >= $2 AND s.at < $3
      UNION ALL
      SELECT d.tenant, 'node-' || d.file_id, 1, 'DirectoryCreated',
             jsonb_build_object('shareId', d.share_id::text, 'fileId', d.file_id::text, 'parentId', d.parent_id::text, 'path', d.path,
               'metadata', '{}'::jsonb, ${stamp('d.at', 'd.file_id')}), d.at
      FROM bench_seed.dirs d WHERE d.at >= $2 AND d.at < $3
      UNION ALL
      SELECT f.tenant, 'node-' || f.file_id, 1, 'FileCreated',
             jsonb_build_object('shareId', f.share_id::text, 'fileId', f.file_id::text, 'parentId', f.parent_id::text, 'path', f.path,
               'contentLength', f.len, 'properties', '{"contentType":"application/octet-stream"}'::jsonb, 'metadata', '{}'::jsonb,
               'replaced', false, ${stamp('f.at', 'f.file_id')}), f.at
      FROM bench_seed.files f WHERE f.at >= $2 AND f.at < $3
      UNION ALL
      SELECT c.tenant,
             CASE WHEN k = 7 AND c.forced THEN 'closure-' || gen_random_uuid() WHEN k IN (0, 7) THEN 'handle-' || c.handle_id ELSE 'node-' || c.file_id END,
             CASE WHEN k = 7 AND c.forced THEN 1 WHEN k = 0 THEN 1 WHEN k = 7 THEN 2 ELSE c.v0 + k END,
             CASE k WHEN 0 THEN 'HandleOpened' WHEN 1 THEN 'LeaseAcquired'
                    WHEN 3 THEN CASE WHEN c.changed THEN 'LeaseChanged' ELSE 'FileRangeWritten' END
                    WHEN 4 THEN CASE WHEN c.meta THEN 'FileMetadataSet' ELSE 'FileRangeWritten' END
                    WHEN 6 THEN CASE WHEN c.broken THEN 'LeaseBroken' WHEN c.held THEN 'FileRangeWritten' ELSE 'LeaseReleased' END
                    WHEN 7 THEN CASE WHEN c.forced THEN 'HandlesForceClosed' ELSE 'HandleClosed' END
                    ELSE 'FileRangeWritten' END,
             CASE
               WHEN k = 0 THEN ${handleOpened('c')}
               WHEN k = 1 THEN jsonb_build_object('leaseId', c.lease1, 'epoch', c.epoch0 + 1, 'previousState', c.previous)
               WHEN k = 3 AND c.changed THEN jsonb_build_object('fromLeaseId', c.lease1, 'toLeaseId', c.lease2, 'epoch', c.epoch0 + 2)
               WHEN k = 4 AND c.meta THEN jsonb_build_object(${stamp(cycleAt, 'c.event_base + k')},
                 'metadata', jsonb_build_object('owner', 'ws' || lpad(c.client::text, 4, '0'), 'revision', (c.j + 1)::text))
               WHEN k = 6 AND c.broken THEN jsonb_build_object('leaseId', ${cur}, 'epoch', c.epoch0 + 2 + c.changed::int)
               WHEN k = 6 AND NOT c.held THEN jsonb_build_object('leaseId', ${cur}, 'fromState', 'leased')
               WHEN k = 7 AND c.forced THEN jsonb_build_object('shareId', c.share_id::text, 'path', c.path, 'recursive', false,
                 'handleIds', jsonb_build_array(c.handle_id::text), 'last', jsonb_build_object('nodeKey', lower(c.path), 'handleId', c.handle_id::text))
               WHEN k = 7 THEN jsonb_build_object('handleId', c.handle_id::text, 'path', c.path, 'fileId', c.file_id::text, 'sessionId', c.session_id::text)
               ELSE ${write(cycleAt, 'c.event_base + k', writeStart, writeLength)}
             END,
             ${cycleAt}
      FROM bench_seed.cycles c CROSS JOIN generate_series(0, 7) k WHERE c.at >= $2 AND c.at < $3
      UNION ALL
      SELECT o.tenant, 'handle-' || o.handle_id, 1, 'HandleOpened', ${handleOpened('o')}, o.at
      FROM bench_seed.opened o WHERE o.at >= $2 AND o.at < $3
      UNION ALL
      SELECT x.tenant, 'node-' || x.file_id, x.version, 'FileRangeWritten',
             ${write('x.at', 'x.file_id * 7 + x.version', '0', '65536')}, x.at
      FROM bench_seed.filler x WHERE x.at >= $2 AND x.at < $3
    ) e
    ORDER BY e.at`;

  const slices = Math.max(1, Math.ceil((o.events - existing) / SLICE_EVENTS));
  const first = new Date(o.now.getTime() - 182 * 86_400_000);
  const width = (o.now.getTime() + 86_400_000 - first.getTime()) / slices;
  let inserted = 0;
  for (let i = 0; i < slices; i++) {
    const from = new Date(first.getTime() + i * width);
    const to = i === slices - 1 ? new Date(o.now.getTime() + 86_400_000) : new Date(first.getTime() + (i + 1) * width);
    inserted += (await q(insertSlice, [...window, from, to])).rowCount ?? 0;
    o.progress?.(inserted, o.events - existing);
  }
  const [{ n: total }] = (await q(`SELECT count(*)::int AS n FROM events`)).rows;
  await q(`DROP SCHEMA bench_seed CASCADE`);
  await q(`RESET work_mem`);
  await q(`RESET TIME ZONE`);
  if (total !== o.events) throw new Error(`seeded ${total} events in all, expected ${o.events}`);
  return {
    events: total,
    files,
    directories,
    cycles,
    openHandles: open,
    filler,
    filesPerLeaf,
    seconds: (Date.now() - started) / 1000,
  };
}

/** JSON with sorted keys: jsonb hands keys back in its own order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

function leaseCommand(type: string, d: any): LeaseCommand | undefined {
  switch (type) {
    case 'LeaseAcquired':
      return { action: 'acquire', proposedLeaseId: d.leaseId, generatedLeaseId: 'unused' };
    case 'LeaseChanged':
      return { action: 'change', leaseId: d.fromLeaseId, proposedLeaseId: d.toLeaseId };
    case 'LeaseReleased':
      return { action: 'release', leaseId: d.leaseId };
    case 'LeaseBroken':
      return { action: 'break' };
  }
  return undefined;
}

/**
 * Checks that the seeded log is one the service could have written: every stream's versions are
 * 1…n (all streams, in SQL); and for a sample of files (always including the largest) each lease
 * event is exactly what the lease decider decides for the matching command, each write passes the
 * file-access gate with the holder's lease id and adds no event, the node folds without error, times
 * grow with versions; every handle stream is HandleOpened on that file, then at most one close.
 * Returns a one-line summary; throws on the first violation.
 */
export async function validateSeed(db: Client, sample: number): Promise<string> {
  const gaps = (
    await db.query(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM events GROUP BY tenant, stream_id HAVING count(*) <> max(stream_version)) s`,
    )
  ).rows[0].n;
  if (gaps) throw new Error(`${gaps} stream(s) whose versions are not 1…n`);
  const { rows: files } = await db.query(
    `(SELECT tenant, stream_id, data->>'fileId' AS file_id FROM events WHERE type = 'FileCreated' ORDER BY random() LIMIT $1)
     UNION
     (SELECT tenant, stream_id, substr(stream_id, 6) FROM events WHERE stream_id LIKE 'node-%' GROUP BY tenant, stream_id ORDER BY count(*) DESC LIMIT 1)`,
    [sample],
  );
  let events = 0;
  const paths = new Map<string, string>();
  for (const f of files) {
    const { rows } = await db.query(
      `SELECT stream_version, type, data, recorded_at FROM events WHERE tenant = $1 AND stream_id = $2 ORDER BY stream_version`,
      [f.tenant, f.stream_id],
    );
    let state: NodeState | undefined;
    let last = 0;
    const fail = (i: number, why: string) => new Error(`${f.tenant} ${f.stream_id} v${i + 1} ${rows[i].type}: ${why}`);
    for (const [i, e] of rows.entries()) {
      if (new Date(e.recorded_at).getTime() < last) throw fail(i, 'recorded before the previous version');
      last = new Date(e.recorded_at).getTime();
      const command = leaseCommand(e.type, e.data);
      if (command) {
        const decision = decideLease(command, state!.lease);
        if (!('events' in decision) || canonical(decision.events) !== canonical([{ type: e.type, data: e.data }])) {
          throw fail(i, `the decider says ${canonical(decision)}`);
        }
      } else if (e.type === 'FileRangeWritten' || e.type === 'FileMetadataSet') {
        const lease = state!.lease;
        const gate = decideFileAccess(
          { kind: 'write', leaseId: lease.status === 'leased' ? lease.leaseId : undefined },
          lease,
        );
        if (!('events' in gate) || gate.events.length) throw fail(i, `the write gate says ${canonical(gate)}`);
        if (
          e.type === 'FileRangeWritten' &&
          (e.data.end >= state!.contentLength || e.data.end - e.data.start + 1 !== e.data.length)
        )
          throw fail(i, 'range outside the file');
      } else if (e.type !== 'FileCreated' || i !== 0) {
        throw fail(i, 'unexpected event');
      }
      state = evolveNode(state, { type: e.type, data: e.data });
    }
    events += rows.length;
    paths.set(`${f.tenant}\n${f.file_id}`, state!.path);
  }
  // The sample's handle streams in one pass over the log (HandleOpened names its file only in data).
  const { rows: streams } = await db.query(
    `WITH opened AS (
       SELECT tenant, stream_id, data->>'fileId' AS file_id FROM events
       WHERE type = 'HandleOpened' AND (tenant, data->>'fileId') IN (SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(tenant text, file_id text)))
     SELECT o.tenant, o.file_id, o.stream_id, array_agg(e.type ORDER BY e.stream_version) AS types, array_agg(e.data ORDER BY e.stream_version) AS data
     FROM opened o JOIN events e ON e.tenant = o.tenant AND e.stream_id = o.stream_id GROUP BY o.tenant, o.file_id, o.stream_id`,
    [JSON.stringify(files.map((f) => ({ tenant: f.tenant, file_id: f.file_id })))],
  );
  // A forced close is a HandlesForceClosed event of its own stream naming the handle.
  const openOnly = streams.filter((h) => h.types.length === 1).map((h) => h.data[0].handleId as string);
  const { rows: closures } = await db.query(
    `SELECT e.tenant, id, e.data->>'path' AS path FROM events e, jsonb_array_elements_text(e.data->'handleIds') id
     WHERE e.type = 'HandlesForceClosed' AND e.data->'handleIds' ?| $1::text[] AND id = ANY ($1::text[])`,
    [openOnly],
  );
  const forced = new Map(closures.map((c) => [`${c.tenant}\n${c.id}`, c.path as string]));
  if (forced.size !== closures.length) throw new Error('a handle named by more than one HandlesForceClosed event');
  for (const h of streams) {
    const path = paths.get(`${h.tenant}\n${h.file_id}`)!;
    const [opened, closed, ...more] = h.data;
    const closure = forced.get(`${h.tenant}\n${opened.handleId}`);
    const ok =
      h.types[0] === 'HandleOpened' &&
      opened.path === path &&
      opened.nodeKey === path.toLowerCase() &&
      (closed === undefined
        ? closure === undefined || closure === path
        : h.types[1] === 'HandleClosed' && closed.handleId === opened.handleId && closure === undefined) &&
      more.length === 0;
    if (!ok)
      throw new Error(
        `${h.tenant} ${h.stream_id}: not an open and at most one close of ${path}: ${h.types.join(', ')}`,
      );
  }
  const handles = streams.length;
  return `versions 1…n on every stream; ${files.length} files (${events.toLocaleString('en')} node events, the largest file included) replayed through the lease decider and write gate, ${handles.toLocaleString('en')} of their handle streams checked (${forced.size.toLocaleString('en')} force-closed by a HandlesForceClosed event)`;
}
