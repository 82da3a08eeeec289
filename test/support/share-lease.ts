// Helpers of the Lease Share suites: the SDK calls it cannot make as published, and time on the
// database's clock.
import { LeaseOperationOptions, LeaseOperationResponse, RestError, ShareLeaseClient } from '@azure/storage-file-share';
import { Pool } from 'pg';
import { evolveShareLease, initialShareLeaseState, ShareLeaseEvent, ShareLeaseState } from '../../libs/domain/src';
import { shareLeaseOf } from '../../libs/filesystem/src/shares/share-lease.row';
import { ShareSnapshotState, snapshotLease } from '../../libs/filesystem/src/shares/share.events';

/**
 * Renew through the SDK's own generated Share operation: ShareLeaseClient.renewLease() refuses
 * shares before sending anything (its isFile() test is inverted in @azure/storage-file-share 12.x).
 */
export const renewShareLease = (lease: ShareLeaseClient): Promise<LeaseOperationResponse> =>
  (
    lease as unknown as { fileOrShare: { renewLease(id: string, o: object): Promise<LeaseOperationResponse> } }
  ).fileOrShare.renewLease(lease.leaseId, {});

/** Break, with a break period: the SDK passes its options through to the generated breakLease, which sends it. */
export const breakShareLease = (lease: ShareLeaseClient, breakPeriod?: number): Promise<LeaseOperationResponse> =>
  lease.breakLease((breakPeriod === undefined ? {} : { breakPeriod }) as LeaseOperationOptions);

/** The fencing epoch Leasehold sends with every lease answer. */
export const EPOCH_HEADER = 'x-leasehold-lease-epoch';

/** A lease call's answer as the suites compare it: the fields it carries, or the error's status and code. */
export interface LeaseOutcome {
  status: number;
  code?: string;
  leaseId?: string;
  leaseTime?: number;
  epoch?: string;
}

export async function leaseOutcome(
  call: Promise<LeaseOperationResponse | { _response: { status: number } }>,
): Promise<LeaseOutcome> {
  try {
    const r = (await call) as LeaseOperationResponse;
    const outcome: LeaseOutcome = { status: r._response.status };
    if (r.leaseId !== undefined) outcome.leaseId = r.leaseId;
    if (r.leaseTimeInSeconds !== undefined) outcome.leaseTime = r.leaseTimeInSeconds;
    const epoch = r._response.headers?.get(EPOCH_HEADER);
    if (epoch) outcome.epoch = epoch;
    return outcome;
  } catch (error) {
    if (!(error instanceof RestError) || error.statusCode === undefined) throw error;
    return { status: error.statusCode, code: error.code };
  }
}

export const dbNow = async (db: Pool): Promise<number> =>
  (await db.query(`SELECT clock_timestamp() AS t`)).rows[0].t.getTime();

/** Waits, polling PostgreSQL's clock, until it reads `instant` or later. */
export async function untilDbClock(db: Pool, instant: number, deadlineMs = 90_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (let now = await dbNow(db); now < instant; now = await dbNow(db)) {
    if (Date.now() > deadline) throw new Error(`the database clock did not reach ${new Date(instant).toISOString()}`);
    await new Promise((r) => setTimeout(r, Math.min(100, instant - now)));
  }
}

/** A share lease event as stored: data as the log holds it, who recorded it and when. */
export interface RecordedShareEvent {
  type: string;
  data: any;
  recordedAt: Date;
  principal: string;
}

/**
 * Every event of the share's stream (`leaseOnly`: the lease events of one subject, the share's own
 * lease or, with `snapshot`, that snapshot's), in order.
 */
export async function shareEvents(
  db: Pool,
  account: string,
  share: string,
  leaseOnly = false,
  snapshot?: string,
): Promise<RecordedShareEvent[]> {
  const { rows } = await db.query(
    `SELECT type, data, recorded_at, metadata->>'principal' AS principal FROM events
     WHERE tenant = $1 AND stream_id = (SELECT 'share-' || share_id FROM shares WHERE tenant = $1 AND name = $2)
       AND ($3 = false OR (type LIKE 'ShareLease%' AND data->>'snapshot' IS NOT DISTINCT FROM $4::text))
     ORDER BY stream_version`,
    [account, share, leaseOnly, snapshot ?? null],
  );
  return rows.map((r) => ({ type: r.type, data: r.data, recordedAt: r.recorded_at, principal: r.principal }));
}

/** The lease the share's log replays to, and the one its projected row holds: the share's own, or with `snapshot` that snapshot's. */
export async function replayedAndProjected(
  db: Pool,
  account: string,
  share: string,
  snapshot?: string,
): Promise<{ replayed: ShareLeaseState; projected: ShareLeaseState }> {
  const events = await shareEvents(db, account, share, true, snapshot);
  const replayed = events.reduce(
    (s, e) => evolveShareLease(s, { type: e.type, data: e.data } as ShareLeaseEvent),
    initialShareLeaseState,
  );
  const { rows } = await db.query(`SELECT * FROM shares WHERE tenant = $1 AND name = $2`, [account, share]);
  const projected =
    snapshot === undefined
      ? shareLeaseOf(rows[0])
      : snapshotLease((rows[0].snapshots as ShareSnapshotState[]).find((s) => s.snapshot === snapshot)!);
  return { replayed, projected };
}
