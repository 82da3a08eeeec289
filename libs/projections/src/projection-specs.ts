import { ACCOUNT_STREAM_PREFIX, AccountEvent, accountRowOf } from '@leasehold/accounts';
import { evolveJob, evolveNode, ForceCloseJob, NodeState } from '@leasehold/domain';
import {
  FILE_SERVICE_STREAM_PREFIX,
  foldFileService,
  foldShare,
  NODE_STREAM_PREFIX,
  nodeRow,
  SHARE_STREAM_PREFIX,
  shareRow,
} from '@leasehold/filesystem';
import { HANDLE_STREAM_PREFIX, HandleOpened, handleRow } from '@leasehold/handles';
import { JOB_STREAM_PREFIX, jobRow } from '@leasehold/jobs';

/** One event of a stream, as the rebuild reads them (in stream-version order). */
export interface StreamEvent {
  type: string;
  /** As stored; each spec reads it as its stream's event type. */
  data: unknown;
}

/**
 * How one current-state table is derived from the log: every row comes from exactly one stream,
 * and is what that stream's events leave (or nothing). The row mappings are the ones the inline
 * projections write through, so a rebuild and the live path cannot drift apart unnoticed.
 * One exception: a handle's row is also taken away by a HandlesForceClosed event listing it, on a
 * closure-<id> stream of its own that no spec folds; the rebuild drops those handles in SQL after
 * folding (dropClosedHandles in rebuild.ts).
 */
export interface ProjectionSpec {
  table: string;
  streamPrefix: string;
  keyColumn: string;
  row(tenant: string, streamId: string, events: StreamEvent[]): object | undefined;
}

export const PROJECTIONS: ProjectionSpec[] = [
  {
    table: 'accounts',
    streamPrefix: ACCOUNT_STREAM_PREFIX,
    keyColumn: 'name',
    row: (_tenant, _stream, events) => accountRowOf(events as AccountEvent[]),
  },
  {
    table: 'shares',
    streamPrefix: SHARE_STREAM_PREFIX,
    keyColumn: 'share_id',
    row: (tenant, _stream, events) => {
      const share = foldShare(events);
      return share && shareRow(tenant, share);
    },
  },
  {
    table: 'file_service_properties',
    streamPrefix: FILE_SERVICE_STREAM_PREFIX,
    keyColumn: 'tenant',
    row: (tenant, _stream, events) => foldFileService(tenant, events),
  },
  {
    table: 'nodes',
    streamPrefix: NODE_STREAM_PREFIX,
    keyColumn: 'file_id',
    row: (tenant, _stream, events) => {
      const state = events.reduce<NodeState | undefined>((s, e) => evolveNode(s, e as never), undefined);
      // A node's first event (DirectoryCreated or FileCreated) names its share.
      return state && nodeRow(tenant, (events[0].data as { shareId: string }).shareId, state);
    },
  },
  {
    table: 'handles',
    streamPrefix: HANDLE_STREAM_PREFIX,
    keyColumn: 'handle_id',
    // Open unless closed on its own stream or listed by a HandlesForceClosed (see ProjectionSpec).
    row: (tenant, _stream, events) =>
      events.length === 1 && events[0].type === 'HandleOpened'
        ? handleRow(tenant, events[0].data as HandleOpened)
        : undefined,
  },
  {
    table: 'jobs',
    streamPrefix: JOB_STREAM_PREFIX,
    keyColumn: 'job_id',
    row: (tenant, _stream, events) =>
      jobRow(
        tenant,
        events.reduce<ForceCloseJob | undefined>((j, e) => evolveJob(j, e as never), undefined)!,
      ),
  },
];

export const specFor = (streamId: string) => PROJECTIONS.find((p) => streamId.startsWith(p.streamPrefix));
export const keyOf = (spec: ProjectionSpec, streamId: string) => streamId.slice(spec.streamPrefix.length);
