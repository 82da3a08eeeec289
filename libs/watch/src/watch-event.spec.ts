import { RecordedEvent } from '@leasehold/event-store';
import {
  isWatchedType,
  matches,
  placeOfFirstEvent,
  toWatchEvent,
  visibleTo,
  WatchEvent,
  WatchFilter,
} from './watch-event';

const recorded = (type: string, data: object, extra: Partial<RecordedEvent> = {}): RecordedEvent => ({
  position: '10',
  transactionId: '900',
  tenant: 't',
  streamId: 'node-7',
  streamVersion: 2,
  eventId: 'e',
  type,
  schemaVersion: 1,
  data,
  metadata: { requestId: 'r', principal: 't', authentication: 'SharedKey' },
  recordedAt: new Date('2026-12-01T03:00:00Z'),
  ...extra,
});

const at = (share: string, path: string, type = 'LeaseAcquired'): WatchEvent => ({
  checkpoint: { transactionId: '1', position: '1' },
  type,
  share,
  path,
  time: '',
});

describe('which events a watch filter follows', () => {
  const f = (share?: string, pathKey?: string, recursive = false, types?: string[]): WatchFilter => ({
    tenant: 't',
    share,
    pathKey,
    recursive,
    types: types && new Set(types),
  });

  it('follows a file itself and nothing else', () => {
    expect(matches(f('s', 'dir/a.txt'), at('s', 'Dir/A.txt'))).toBe(true);
    expect(matches(f('s', 'dir/a.txt'), at('s', 'dir/a.txt2'))).toBe(false);
    expect(matches(f('s', 'dir/a.txt'), at('s', 'dir'))).toBe(false);
    expect(matches(f('s', 'dir/a.txt'), at('other', 'dir/a.txt'))).toBe(false);
  });

  it('follows a directory and its children, and with recursive everything below it', () => {
    expect(matches(f('s', 'dir'), at('s', 'dir'))).toBe(true);
    expect(matches(f('s', 'dir'), at('s', 'dir/a'))).toBe(true);
    expect(matches(f('s', 'dir'), at('s', 'dir/sub/a'))).toBe(false);
    expect(matches(f('s', 'dir', true), at('s', 'dir/sub/a'))).toBe(true);
    expect(matches(f('s', 'dir', true), at('s', 'dir2/a'))).toBe(false);
    expect(matches(f('s', 'dir', true), at('s', ''))).toBe(false);
  });

  it('follows a share root, its top level, or with recursive the whole share; and the whole account', () => {
    expect(matches(f('s', ''), at('s', ''))).toBe(true);
    expect(matches(f('s', ''), at('s', 'top'))).toBe(true);
    expect(matches(f('s', ''), at('s', 'top/a'))).toBe(false);
    expect(matches(f('s', '', true), at('s', 'top/a'))).toBe(true);
    expect(matches(f(), at('any', 'deep/er/a'))).toBe(true);
  });

  it('follows a rename at its new path and at its former one; a confined (SAS) watcher sees no path outside its place', () => {
    const renamed = { ...at('s', 'b/x.txt', 'NodeRenamed'), from: 'a/x.txt' };
    expect(matches(f('s', 'a'), renamed)).toBe(true);
    expect(matches(f('s', 'b'), renamed)).toBe(true);
    expect(matches(f('s', 'c'), renamed)).toBe(false);
    expect(visibleTo(f('s', 'a'), renamed)).toBe(renamed);
    const confined = (pathKey: string) => ({ ...f('s', pathKey), confined: true });
    expect(visibleTo(confined('a'), renamed)).toEqual({ ...at('s', 'a/x.txt', 'NodeRenamed') });
    expect(visibleTo(confined('b'), renamed)).toEqual({ ...at('s', 'b/x.txt', 'NodeRenamed') });
    expect(visibleTo(confined(''), { ...renamed, path: 'x.txt', from: 'y.txt' })).toEqual({
      ...renamed,
      path: 'x.txt',
      from: 'y.txt',
    });
  });

  it('keeps only the asked types', () => {
    expect(matches(f(undefined, undefined, true, ['LeaseReleased']), at('s', 'a', 'LeaseAcquired'))).toBe(false);
    expect(matches(f(undefined, undefined, true, ['LeaseReleased']), at('s', 'a', 'LeaseReleased'))).toBe(true);
  });
});

describe('watch events', () => {
  it('watches lease, handle, creation, deletion and job changes, not writes or properties', () => {
    for (const type of [
      'LeaseAcquired',
      'LeaseBroken',
      'ShareLeaseExpired',
      'BrokenLeaseCleared',
      'HandleOpened',
      'HandleForceClosed',
      'FileCreated',
      'DirectoryDeleted',
      'ShareDeleted',
      'NodeRenamed',
      'NodeMoved',
      'ForceCloseChunkCompleted',
      'ForceCloseJobCompleted',
    ]) {
      expect([type, isWatchedType(type)]).toEqual([type, true]);
    }
    for (const type of [
      'FileRangeWritten',
      'FileMetadataSet',
      'DirectoryPropertiesSet',
      'AccountCreated',
      'AccountKeyRotated',
    ]) {
      expect([type, isWatchedType(type)]).toEqual([type, false]);
    }
  });

  it('finds the place from the first event of a stream', () => {
    const shares = (stream: string) => (stream === 'share-3' ? 'reports' : undefined);
    expect(placeOfFirstEvent(recorded('ShareCreated', { name: 'reports', shareId: '3' }), shares)).toEqual({
      share: 'reports',
      path: '',
    });
    expect(placeOfFirstEvent(recorded('FileCreated', { shareId: '3', path: 'Q3/a.csv' }), shares)).toEqual({
      share: 'reports',
      path: 'Q3/a.csv',
    });
    expect(placeOfFirstEvent(recorded('HandleOpened', { shareId: '3', path: '' }), shares)).toEqual({
      share: 'reports',
      path: '',
    });
    expect(
      placeOfFirstEvent(recorded('ForceCloseJobSubmitted', { shareId: '4', shareName: 'other', path: 'x' }), shares),
    ).toEqual({ share: 'other', path: 'x' });
    expect(placeOfFirstEvent(recorded('FileCreated', { shareId: '9', path: 'a' }), shares)).toBeUndefined();
    expect(placeOfFirstEvent(recorded('AccountCreated', { name: 't' }), shares)).toBeUndefined();
  });

  it('carries the lease id, epoch, handle id, job progress, time and principal', () => {
    const place = { share: 's', path: 'a' };
    expect(toWatchEvent(recorded('LeaseChanged', { fromLeaseId: 'x', toLeaseId: 'y', epoch: 4 }), place)).toEqual({
      checkpoint: { transactionId: '900', position: '10' },
      type: 'LeaseChanged',
      share: 's',
      path: 'a',
      leaseId: 'y',
      epoch: 4,
      time: '2026-12-01T03:00:00.000Z',
      principal: 't',
    });
    expect(toWatchEvent(recorded('HandleClosed', { handleId: '55', path: 'a' }), place).handleId).toBe('55');
    expect(toWatchEvent(recorded('NodeMoved', { from: 'old/a', path: 'a' }), place).from).toBe('old/a');
    expect(
      toWatchEvent(recorded('ForceCloseChunkCompleted', { chunk: 2, closed: 1000 }, { streamId: 'job-j1' }), place).job,
    ).toEqual({ id: 'j1', chunks: 2, closed: 1000 });
    // A share snapshot's lease event, on the share root: it names the snapshot; the share's own does not.
    const snapshotLease = recorded(
      'ShareLeaseAcquired',
      { leaseId: 'x', epoch: 1, snapshot: '2026-12-01T02:00:00.0000000Z' },
      { streamId: 'share-3' },
    );
    expect(toWatchEvent(snapshotLease, { share: 's', path: '' })).toMatchObject({
      leaseId: 'x',
      epoch: 1,
      snapshot: '2026-12-01T02:00:00.0000000Z',
    });
    expect(toWatchEvent(recorded('ShareLeaseAcquired', { leaseId: 'x', epoch: 1 }), place)).not.toHaveProperty(
      'snapshot',
    );
  });
});
