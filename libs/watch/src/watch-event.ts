import { Checkpoint, RecordedEvent } from '@leasehold/event-store';

/** Where a stream's events happen: a share and a path below it ('' is the share root); share undefined for account-level streams. */
export interface Place {
  share?: string;
  path: string;
}

/** One change as a watcher sees it. */
export interface WatchEvent {
  /** Where it is in the log: resuming after it gives exactly the events that follow. */
  checkpoint: Checkpoint;
  type: string;
  share: string;
  /** The file or directory, '' for the share root, where it was when this happened (names are case-preserving). */
  path: string;
  /** A rename or move (NodeRenamed, NodeMoved): where the node was before it. */
  from?: string;
  leaseId?: string;
  /** The lease's fencing epoch after the change. */
  epoch?: number;
  /** A share snapshot's lease change (on the share root): the snapshot. */
  snapshot?: string;
  handleId?: string;
  /** A force-close chunk (HandlesForceClosed): the handles it closed, at `path` or, when `recursive`, below it. */
  handleIds?: string[];
  /** HandlesForceClosed: whether it reached below `path`; then it also reaches the watchers of every place below. */
  recursive?: boolean;
  job?: { id: string; chunks?: number; closed?: number };
  time: string;
  principal?: string;
}

/** A watch event as the stream and the long poll publish it: its cursor in place of the checkpoint. */
export type PublishedWatchEvent = Omit<WatchEvent, 'checkpoint'> & { cursor: string };

/**
 * What a watch follows. Everything is within one tenant; `share` undefined is the whole account.
 * A path (lowercased key, '' for the share root) is the file or directory itself and, for a
 * directory, its direct children, or everything below it when `recursive`.
 */
export interface WatchFilter {
  tenant: string;
  share?: string;
  pathKey?: string;
  recursive: boolean;
  /** Only these event types; undefined for every watched type. */
  types?: ReadonlySet<string>;
  /** Never shown a path outside its place (a watch under a SAS): see visibleTo. */
  confined?: boolean;
}

/**
 * The changes a watch reports: leases (file and share), handles (and force-close chunks), creations,
 * renames (and the moves of what is below a renamed directory) and deletions, and force-close jobs.
 * Writes and property changes are not.
 */
const WATCHED =
  /^(?:(?:Share)?Lease[A-Z]\w*|BrokenLeaseCleared|Handle(?:Opened|Closed|ForceClosed)|HandlesForceClosed|(?:File|Directory|Share)(?:Created|Deleted)|Node(?:Renamed|Moved)|ForceClose(?:Job|Chunk)[A-Z]\w*)$/;

/** The events that give a node's stream a new place from their stream version on. */
export const MOVES = ['NodeRenamed', 'NodeMoved'];

export const isWatchedType = (type: string): boolean => WATCHED.test(type);

/** The lowercased key of a path as the filesystem compares names ('' for the share root). */
export const watchPathKey = (path: string): string => path.toLowerCase();

/** The fields of event data a watch reads. Which are present depends on the type, and each is checked before use. */
interface EventFields {
  name?: unknown;
  shareName?: unknown;
  shareId?: unknown;
  path?: unknown;
  from?: unknown;
  leaseId?: unknown;
  toLeaseId?: unknown;
  epoch?: unknown;
  snapshot?: unknown;
  handleId?: unknown;
  handleIds?: unknown;
  recursive?: unknown;
  chunk?: unknown;
  chunks?: unknown;
  closed?: unknown;
}

export const fieldsOf = (e: RecordedEvent): EventFields =>
  typeof e.data === 'object' && e.data !== null ? e.data : {};
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const count = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const texts = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;

/**
 * The place named by a stream's first event: a share's creation names the share; a file's,
 * directory's or handle's, and a force-close chunk's (its stream's only event), names the share by
 * id (`share-{id}` is the share's stream) and the path; a job's submission names both.
 */
export function placeOfFirstEvent(
  first: RecordedEvent,
  shareName: (shareStream: string) => string | undefined,
): Place | undefined {
  const d = fieldsOf(first);
  if (first.type === 'ShareCreated') return { share: text(d.name), path: '' };
  const named = text(d.shareName);
  if (named !== undefined) return { share: named, path: text(d.path) ?? '' };
  const shareId = text(d.shareId);
  if (shareId !== undefined) {
    const share = shareName(`share-${shareId}`);
    return share === undefined ? undefined : { share, path: text(d.path) ?? '' };
  }
  return undefined;
}

/** The watch event for a recorded event at a known place. */
export function toWatchEvent(e: RecordedEvent, place: Place & { share: string }): WatchEvent {
  const d = fieldsOf(e);
  const jobId = e.metadata?.jobId ?? (e.streamId.startsWith('job-') ? e.streamId.slice(4) : undefined);
  const event: WatchEvent = {
    checkpoint: { transactionId: e.transactionId, position: e.position },
    type: e.type,
    share: place.share,
    path: place.path,
    time: new Date(e.recordedAt).toISOString(),
    principal: e.metadata?.principal,
  };
  const leaseId = text(d.toLeaseId) ?? text(d.leaseId);
  if (leaseId !== undefined) event.leaseId = leaseId;
  const epoch = count(d.epoch);
  if (epoch !== undefined) event.epoch = epoch;
  const snapshot = text(d.snapshot);
  if (snapshot !== undefined) event.snapshot = snapshot;
  const handleId = text(d.handleId);
  if (handleId !== undefined) event.handleId = handleId;
  if (e.type === 'HandlesForceClosed') {
    const handleIds = texts(d.handleIds);
    if (handleIds !== undefined) event.handleIds = handleIds;
    event.recursive = d.recursive === true;
  }
  const from = MOVES.includes(e.type) ? text(d.from) : undefined;
  if (from !== undefined) event.from = from;
  // A job's chunk of closes names the job, as its progress events do.
  if (jobId !== undefined && (e.type.startsWith('ForceClose') || e.type === 'HandlesForceClosed')) {
    const chunks = count(d.chunks) ?? count(d.chunk);
    const closed = count(d.closed);
    event.job = { id: jobId, ...(chunks !== undefined ? { chunks } : {}), ...(closed !== undefined ? { closed } : {}) };
  }
  return event;
}

/**
 * True when the event (of the filter's tenant) is one the filter follows: at its path, or a rename's
 * former path; or a recursive close of a directory above the filter's place, which may have closed
 * handles on it.
 */
export function matches(filter: WatchFilter, event: WatchEvent): boolean {
  if (filter.types && !filter.types.has(event.type)) return false;
  if (filter.share === undefined) return true;
  if (event.share !== filter.share) return false;
  return (
    under(filter, event.path) ||
    (event.from !== undefined && under(filter, event.from)) ||
    (event.recursive === true && isBelow(filter.pathKey ?? '', event.path))
  );
}

/** True when a path key is strictly below a directory (a path of the same share, '' for the root). */
export function isBelow(key: string, directory: string): boolean {
  const at = watchPathKey(directory);
  return at === '' ? key !== '' : key.startsWith(`${at}/`);
}

/** True when a path of the filter's share is the filter's place or (recursively) below it. */
function under(filter: WatchFilter, path: string): boolean {
  const key = watchPathKey(path);
  const at = filter.pathKey ?? '';
  if (at === '') return filter.recursive || key === '' || !key.includes('/');
  if (key === at) return true;
  if (!key.startsWith(`${at}/`)) return false;
  return filter.recursive || !key.slice(at.length + 1).includes('/');
}

/**
 * The event as the filter's watcher may see it. A confined watcher (a SAS) sees no path outside its
 * place: a rename out of it shows only the path it left (as `path`), one into it only where it arrived.
 * A recursive close reaching it from a directory above keeps that directory as `path`: an ancestor
 * of the place is part of the place's own path, which the SAS holder named, so it shows nothing it
 * does not know. Its `handleIds` go: most may be of handles elsewhere below that directory, and the
 * event does not say which were on the place, so the watcher lists its handles again instead.
 */
export function visibleTo(filter: WatchFilter, event: WatchEvent): WatchEvent {
  if (!filter.confined || filter.share === undefined) return event;
  if (event.handleIds !== undefined && !under(filter, event.path)) {
    const { handleIds, ...rest } = event;
    return rest;
  }
  if (event.from === undefined) return event;
  const { from, ...rest } = event;
  if (!under(filter, event.path)) return { ...rest, path: from };
  return under(filter, from) ? event : rest;
}
