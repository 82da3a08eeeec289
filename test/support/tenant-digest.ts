import type { Pool } from 'pg';

/**
 * Everything a tenant has: its events (count, last position) and a digest of each of its
 * projection rows (shares, nodes, handles, jobs, its account row, its File service properties) and of its files' bytes
 * (and the versions of them its share snapshots keep). Equal
 * digests before and after a request mean the request changed nothing of the tenant's.
 */
export async function tenantDigest(db: Pool, tenant: string): Promise<Record<string, string>> {
  const { rows } = await db.query(
    `SELECT
       (SELECT count(*) FROM events WHERE tenant = $1)::text AS events,
       (SELECT coalesce(max(position), 0) FROM events WHERE tenant = $1)::text AS last_position,
       (SELECT md5(coalesce(string_agg(s::text, '|' ORDER BY s.share_id), '')) FROM shares s WHERE s.tenant = $1) AS shares,
       (SELECT md5(coalesce(string_agg(n::text, '|' ORDER BY n.share_id, n.path_key), '')) FROM nodes n WHERE n.tenant = $1) AS nodes,
       (SELECT md5(coalesce(string_agg(h::text, '|' ORDER BY h.handle_id), '')) FROM handles h WHERE h.tenant = $1) AS handles,
       (SELECT md5(coalesce(string_agg(j::text, '|' ORDER BY j.job_id), '')) FROM jobs j WHERE j.tenant = $1) AS jobs,
       (SELECT md5(coalesce(string_agg(a::text, '|'), '')) FROM accounts a WHERE a.name = $1) AS account,
       (SELECT md5(coalesce(string_agg(p::text, '|'), '')) FROM file_service_properties p WHERE p.tenant = $1) AS file_service,
       (SELECT md5(coalesce(string_agg(c.file_id || ':' || c.chunk_no || ':' || md5(c.data), '|' ORDER BY c.file_id, c.chunk_no), ''))
          FROM file_chunks c JOIN nodes n ON n.file_id = c.file_id WHERE n.tenant = $1) AS bytes,
       (SELECT md5(coalesce(string_agg(v.file_id || ':' || v.chunk_no || ':' || v.replaced_xid || ':' || md5(v.data), '|' ORDER BY v.file_id, v.chunk_no, v.replaced_xid), ''))
          FROM file_chunk_versions v JOIN shares s ON s.share_id = v.share_id WHERE s.tenant = $1) AS kept_bytes`,
    [tenant],
  );
  return rows[0];
}
