import { Injectable } from '@nestjs/common';
import { CommandContext, LeaseCommand, NodeState } from '@leasehold/domain';
import { EventStore, RecordedEvent } from '@leasehold/event-store';
import { Located, nodeStream } from '@leasehold/filesystem';

/** What a Lease File answers, and what a repeat of one that committed is answered again (here, so the command and its replay share it without a cycle). */
export interface LeaseFileResult {
  leaseId?: string;
  node: NodeState;
}

/** How long a repeated request gets the original answer: longer than any SDK's retries of one request. */
export const REPLAY_WINDOW_MS = 10 * 60_000;
/** How far back in a file's stream a repeated request is looked for: its last changes, so a busy file costs a bounded read. */
const REPLAY_DEPTH = 1000;

/** The event a lease action records, when it records one, for the same arguments. */
function recordedBy(command: LeaseCommand, event: RecordedEvent): boolean {
  const data = event.data as { leaseId?: string; fromLeaseId?: string; toLeaseId?: string };
  switch (command.action) {
    case 'release':
      return event.type === 'LeaseReleased' && data.leaseId === command.leaseId;
    case 'change':
      return (
        event.type === 'LeaseChanged' &&
        data.fromLeaseId === command.leaseId &&
        data.toLeaseId === command.proposedLeaseId
      );
    case 'break':
      return event.type === 'LeaseBroken';
    default:
      return false;
  }
}

/**
 * Retries that do no harm. The SDKs retry a request that timed out or got a 5xx with the same
 * x-ms-client-request-id; a release, change or break that already committed must not turn into a
 * refusal (or a break of the next holder's lease) on its retry. The log already says what each
 * request did (its metadata carries the client request id), so within REPLAY_WINDOW_MS a repeated
 * request (same account, file, client request id, action and lease ids) gets the original answer,
 * whichever API process took the first one. The answer's epoch is the one the original installed
 * (or, for a release, kept); its ETag and Last-Modified are the file's current ones.
 */
@Injectable()
export class LeaseReplay {
  constructor(private readonly store: EventStore) {}

  async find(context: CommandContext, located: Located, command: LeaseCommand): Promise<LeaseFileResult | undefined> {
    const node = located.node;
    if (!context.clientRequestId || !node || command.action === 'acquire') return undefined;
    const events = await this.store.readStreamAfter(
      context.tenant,
      nodeStream(node.fileId),
      Math.max(0, node.version - REPLAY_DEPTH),
    );
    const since = context.now.getTime() - REPLAY_WINDOW_MS;
    let epoch = 0;
    for (const event of events) {
      const { epoch: installed } = event.data as { epoch?: unknown };
      if (typeof installed === 'number') epoch = installed;
      if (
        event.metadata.clientRequestId === context.clientRequestId &&
        new Date(event.recordedAt).getTime() >= since &&
        recordedBy(command, event)
      ) {
        const leaseId = command.action === 'change' ? command.proposedLeaseId : undefined;
        return { leaseId, node: { ...node, lease: { ...node.lease, epoch } } };
      }
    }
    return undefined;
  }
}
