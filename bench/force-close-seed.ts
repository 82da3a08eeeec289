import { randomUUID } from 'node:crypto';

/**
 * A random positive 63-bit id, spread over the whole range as HandleRepository.nextIds spreads
 * handle and session ids (random() has 52 random bits). Not a sequence: sequential ids put each
 * handle stream's events at the right edge of the events stream index, where the service's random
 * ids touch a leaf page each, so a seed from a sequence measured a cheaper close than the service's.
 */
export const RANDOM_ID = `(1 + floor(random() * 9223372036854775806)::bigint)`;

/** What seedOpenHandles needs of a pg Client or Pool. */
export interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rowCount: number | null }>;
}

/**
 * Opens `perNode` handles on each of `nodePaths` (share-relative; '' is the share root) in one
 * statement, writing exactly what OpenHandleHandler writes for an open: a handles row (the columns
 * handleRow maps) and a HandleOpened event at version 1 of stream handle-<id>, with random ids
 * (RANDOM_ID) and one instant for OpenTime. What it skips is the per-request work: the node
 * lock, the lease gate and the per-node limit (callers stay within 2,000 per node). Used by the
 * force-close benchmark and the job tests, where opening tens of thousands to a million handles
 * one HTTP request at a time would measure the open path instead.
 */
export async function seedOpenHandles(
  db: Queryable,
  tenant: string,
  share: string,
  nodePaths: string[],
  perNode: number,
): Promise<number> {
  const keys = nodePaths.map((p) => p.toLowerCase());
  const openTime = new Date().toISOString();
  const metadata = { requestId: randomUUID(), principal: tenant, authentication: 'SharedKey' };
  const result = await db.query(
    `WITH target AS (
       SELECT s.share_id, coalesce(n.path_key, '') AS node_key, coalesce(n.path, '') AS path,
              coalesce(n.file_id, 0) AS file_id, coalesce(n.parent_id, 0) AS parent_id
       FROM shares s JOIN unnest($3::text[]) AS k(key) ON true
       LEFT JOIN nodes n ON n.share_id = s.share_id AND n.path_key = k.key
       WHERE s.tenant = $1 AND s.name = $2 AND (k.key = '' OR n.path_key IS NOT NULL)
     ), h AS (
       SELECT ${RANDOM_ID} AS handle_id, ${RANDOM_ID} AS session_id, t.*,
              '10.8.' || (g / 256) || '.' || (g % 256) || ':445' AS client_ip, 'seed-' || g AS client_name
       FROM target t CROSS JOIN generate_series(1, $4::int) AS g
     ), inserted AS (
       INSERT INTO handles (handle_id, tenant, share_id, node_key, path, file_id, parent_id, session_id, client_ip, client_name, access, open_time)
       SELECT handle_id, $1, share_id, node_key, path, file_id, parent_id, session_id, client_ip, client_name, ARRAY['Read'], $5::timestamptz FROM h
       RETURNING *
     )
     INSERT INTO events (tenant, stream_id, stream_version, event_id, type, schema_version, data, metadata)
     SELECT $1, 'handle-' || handle_id, 1, gen_random_uuid(), 'HandleOpened', 1,
            jsonb_build_object('shareId', share_id::text, 'handleId', handle_id::text, 'fileId', file_id::text,
              'parentId', parent_id::text, 'sessionId', session_id::text, 'path', path, 'nodeKey', node_key,
              'clientName', client_name, 'clientIp', client_ip, 'access', to_jsonb(access), 'openTime', $5::text),
            $6::jsonb
     FROM inserted`,
    [tenant, share, keys, perNode, openTime, JSON.stringify(metadata)],
  );
  const count = result.rowCount ?? 0;
  if (count !== keys.length * perNode)
    throw new Error(`seeded ${count} handles, expected ${keys.length * perNode} (a path that does not exist?)`);
  return count;
}
