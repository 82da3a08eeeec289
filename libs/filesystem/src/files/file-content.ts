import { SqlExecutor } from '@leasehold/event-store';
import { Readable } from 'node:stream';

/** File bytes live in fixed-size chunks; a missing chunk reads as zeros, so sparse files cost nothing. */
export const CHUNK_BYTES = 1024 * 1024;

function chunkRange(start: number, endExclusive: number): number[] {
  const chunks: number[] = [];
  for (let c = Math.floor(start / CHUNK_BYTES); c * CHUNK_BYTES < endExclusive; c++) chunks.push(c);
  return chunks;
}

/**
 * The chunks a share snapshot sees: the current row where the snapshot sees the transaction that
 * wrote it, else the version kept when a later transaction replaced it (file_chunks' trigger keeps
 * each one a snapshot sees). At most one of them is visible per chunk.
 */
const CHUNKS_AT_SNAPSHOT = `
  SELECT chunk_no, data FROM file_chunks
  WHERE file_id = $1 AND chunk_no = ANY($2::int[]) AND pg_visible_in_snapshot(written_xid, $3::pg_snapshot)
  UNION ALL
  SELECT chunk_no, data FROM file_chunk_versions
  WHERE file_id = $1 AND chunk_no = ANY($2::int[]) AND pg_visible_in_snapshot(written_xid, $3::pg_snapshot)
    AND NOT pg_visible_in_snapshot(replaced_xid, $3::pg_snapshot)`;

/** Reads bytes [start, endExclusive) of a file, as of the share snapshot whose pg_snapshot is `at` when given. */
export async function readContent(
  sql: SqlExecutor,
  fileId: string,
  start: number,
  endExclusive: number,
  at?: string,
): Promise<Buffer> {
  const out = Buffer.alloc(endExclusive - start);
  if (out.length === 0) return out;
  const chunks = chunkRange(start, endExclusive);
  const rows =
    at === undefined
      ? await sql.query(`SELECT chunk_no, data FROM file_chunks WHERE file_id = $1 AND chunk_no = ANY($2::int[])`, [
          fileId,
          chunks,
        ])
      : await sql.query(CHUNKS_AT_SNAPSHOT, [fileId, chunks, at]);
  for (const { chunk_no, data } of rows) {
    const chunkStart = chunk_no * CHUNK_BYTES;
    const from = Math.max(start, chunkStart);
    const to = Math.min(endExclusive, chunkStart + (data as Buffer).length);
    if (to > from) (data as Buffer).copy(out, from - start, from - chunkStart, to - chunkStart);
  }
  return out;
}

/** Bytes read per query when a download is streamed. */
export const STREAM_SEGMENT_BYTES = 4 * CHUNK_BYTES;

/**
 * Bytes [start, endExclusive) as a stream that reads one segment at a time, so that a large (even
 * sparse, terabyte-sized) download never has to fit in memory, and stops reading when the client goes.
 */
export function contentStream(
  sql: SqlExecutor,
  fileId: string,
  start: number,
  endExclusive: number,
  at?: string,
): Readable {
  async function* segments() {
    for (let from = start; from < endExclusive; from += STREAM_SEGMENT_BYTES) {
      yield await readContent(sql, fileId, from, Math.min(endExclusive, from + STREAM_SEGMENT_BYTES), at);
    }
  }
  return Readable.from(segments(), { objectMode: false });
}

/**
 * Writes `data` at `start` (or zeros, to clear), in the caller's transaction. Chunks that end up
 * all zeros are dropped.
 */
export async function writeContent(sql: SqlExecutor, fileId: string, start: number, data: Buffer): Promise<void> {
  const endExclusive = start + data.length;
  const chunks = chunkRange(start, endExclusive);
  if (chunks.length === 0) return;
  const rows = await sql.query<{ chunk_no: number; data: Buffer }>(
    `SELECT chunk_no, data FROM file_chunks WHERE file_id = $1 AND chunk_no = ANY($2::int[])`,
    [fileId, chunks],
  );
  const existing = new Map<number, Buffer>(rows.map((r) => [r.chunk_no, r.data]));
  const keep: number[] = [];
  const payload: Buffer[] = [];
  const drop: number[] = [];
  for (const c of chunks) {
    const chunkStart = c * CHUNK_BYTES;
    const old = existing.get(c) ?? Buffer.alloc(0);
    const needed = Math.max(old.length, Math.min(CHUNK_BYTES, endExclusive - chunkStart));
    const next = Buffer.alloc(needed);
    old.copy(next);
    const from = Math.max(start, chunkStart);
    data.copy(next, from - chunkStart, from - start, Math.min(endExclusive, chunkStart + CHUNK_BYTES) - start);
    if (next.every((b) => b === 0)) drop.push(c);
    else {
      keep.push(c);
      payload.push(next);
    }
  }
  if (drop.length)
    await sql.query(`DELETE FROM file_chunks WHERE file_id = $1 AND chunk_no = ANY($2::int[])`, [fileId, drop]);
  if (keep.length) {
    await sql.query(
      `INSERT INTO file_chunks (file_id, chunk_no, data) SELECT $1, c, d FROM unnest($2::int[], $3::bytea[]) AS u(c, d)
       ON CONFLICT (file_id, chunk_no) DO UPDATE SET data = EXCLUDED.data`,
      [fileId, keep, payload],
    );
  }
}

/**
 * Zeros bytes [start, endExclusive) without materialising them (Clear Range has no size limit, a
 * range may span terabytes): whole chunks inside the range are dropped, the partial ones at its
 * edges rewritten, so the work is two chunks and one DELETE whatever the range.
 */
export async function clearContent(
  sql: SqlExecutor,
  fileId: string,
  start: number,
  endExclusive: number,
): Promise<void> {
  const firstWhole = Math.ceil(start / CHUNK_BYTES);
  const pastWhole = Math.floor(endExclusive / CHUNK_BYTES);
  // No whole chunk inside: the range lies within at most two chunks.
  if (firstWhole >= pastWhole) return writeContent(sql, fileId, start, Buffer.alloc(endExclusive - start));
  await sql.query(`DELETE FROM file_chunks WHERE file_id = $1 AND chunk_no >= $2 AND chunk_no < $3`, [
    fileId,
    firstWhole,
    pastWhole,
  ]);
  if (start < firstWhole * CHUNK_BYTES)
    await writeContent(sql, fileId, start, Buffer.alloc(firstWhole * CHUNK_BYTES - start));
  if (endExclusive > pastWhole * CHUNK_BYTES)
    await writeContent(sql, fileId, pastWhole * CHUNK_BYTES, Buffer.alloc(endExclusive - pastWhole * CHUNK_BYTES));
}

/** Makes `to`'s bytes those of `from` (Copy File): one statement per table, whatever the size. */
export async function copyContent(sql: SqlExecutor, from: string, to: string): Promise<void> {
  await sql.query(`DELETE FROM file_chunks WHERE file_id = $1`, [to]);
  await sql.query(
    `INSERT INTO file_chunks (file_id, chunk_no, data) SELECT $2, chunk_no, data FROM file_chunks WHERE file_id = $1`,
    [from, to],
  );
}

/** Drops every byte at or beyond `length` (resize down, re-create). */
export async function truncateContent(sql: SqlExecutor, fileId: string, length: number): Promise<void> {
  // Chunks [0, kept) hold bytes below `length`; the rest go whole (no empty rows left behind by a delete).
  const kept = Math.ceil(length / CHUNK_BYTES);
  await sql.query(`DELETE FROM file_chunks WHERE file_id = $1 AND chunk_no >= $2`, [fileId, kept]);
  if (length % CHUNK_BYTES === 0) return;
  await sql.query(`UPDATE file_chunks SET data = substring(data FROM 1 FOR $3) WHERE file_id = $1 AND chunk_no = $2`, [
    fileId,
    kept - 1,
    length - (kept - 1) * CHUNK_BYTES,
  ]);
}
