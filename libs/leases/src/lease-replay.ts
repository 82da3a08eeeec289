import { Injectable } from '@nestjs/common';
import { CommandContext, LeaseCommand, ShareLeaseCommand } from '@leasehold/domain';
import { EventStore, RecordedEvent } from '@leasehold/event-store';
import { leaseSnapshotOf } from '@leasehold/filesystem';

/** How long a repeated request gets the original answer: longer than any SDK's retries of one request. */
export const REPLAY_WINDOW_MS = 10 * 60_000;
/** How far back in a stream a repeated request is looked for: its last changes, so a busy file or share costs a bounded read. */
const REPLAY_DEPTH = 1000;

/** The event each action that a retry could turn into a refusal (or a second break) records, per kind of lease. */
const RECORDED = {
  file: { release: 'LeaseReleased', change: 'LeaseChanged', break: 'LeaseBroken' },
  share: {
    renew: 'ShareLeaseRenewed',
    release: 'ShareLeaseReleased',
    change: 'ShareLeaseChanged',
    break: 'ShareLeaseBroken',
  },
} as const;

export type LeaseKind = keyof typeof RECORDED;

/** What the first of the repeated requests recorded, and the fencing epoch it left. */
export interface Original {
  event: RecordedEvent;
  epoch: number;
}

/** Whether `event` is what `command` records, for the same arguments (lease ids; a break has none that its event keeps). */
function recordedBy(kind: LeaseKind, command: LeaseCommand | ShareLeaseCommand, event: RecordedEvent): boolean {
  const types: Partial<Record<string, string>> = RECORDED[kind];
  if (event.type !== types[command.action]) return false;
  const data = event.data as { leaseId?: string; fromLeaseId?: string; toLeaseId?: string };
  switch (command.action) {
    case 'renew':
    case 'release':
      return data.leaseId === command.leaseId;
    case 'change':
      return data.fromLeaseId === command.leaseId && data.toLeaseId === command.proposedLeaseId;
    default:
      return true;
  }
}

/**
 * Retries that do no harm, for Lease File and Lease Share alike. The SDKs retry a request that
 * timed out or got a 5xx with the same x-ms-client-request-id; a renewal, release, change or break
 * that already committed must not turn into a refusal (or a break of the next holder's lease) on
 * its retry. The log already says what each request did (its metadata carries the client request
 * id), so within REPLAY_WINDOW_MS a repeated request (same account, file or share, client request
 * id, action and lease ids) finds what the original recorded, whichever API process took it; the
 * caller answers as it did then. Only requests that recorded an event can be found: a success that
 * changed nothing (a break of a lease already breaking for longer, say) left no trace to replay.
 */
@Injectable()
export class LeaseReplay {
  constructor(private readonly store: EventStore) {}

  /**
   * The original of `command` on the stream `streamId` (now at `version`), if this request recorded
   * one within the window ending at `now` (ms, on the clock the caller decided with).
   */
  async find(
    context: CommandContext,
    kind: LeaseKind,
    /** snapshot: a share snapshot's lease, whose events on the share's stream name it (the share's own name none). */
    stream: { streamId: string; version: number; snapshot?: string },
    command: LeaseCommand | ShareLeaseCommand,
    now: number,
  ): Promise<Original | undefined> {
    if (!context.clientRequestId || !Object.hasOwn(RECORDED[kind], command.action)) return undefined;
    const events = await this.store.readStreamAfter(
      context.tenant,
      stream.streamId,
      Math.max(0, stream.version - REPLAY_DEPTH),
    );
    const since = now - REPLAY_WINDOW_MS;
    let epoch = 0;
    for (const event of events) {
      // Another subject's lease on the same stream has its own epochs and requests.
      if (leaseSnapshotOf(event) !== stream.snapshot) continue;
      // Events that leave the epoch as it was (a release, an expiry) do not carry it.
      const { epoch: installed } = event.data as { epoch?: unknown };
      if (typeof installed === 'number') epoch = installed;
      if (
        event.metadata.clientRequestId === context.clientRequestId &&
        new Date(event.recordedAt).getTime() >= since &&
        recordedBy(kind, command, event)
      )
        return { event, epoch };
    }
    return undefined;
  }
}
