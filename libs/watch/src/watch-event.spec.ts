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

  it('follows a recursive force-close at its directory as any event there, and from every place below it', () => {
    const closed = (path: string, recursive: boolean): WatchEvent => ({
      ...at('s', path, 'HandlesForceClosed'),
      handleIds: ['1', '2'],
      recursive,
    });
    // Where any event at the directory goes: the directory, its parent (a child), the share, the account.
    for (const filter of [f('s', 'dir/sub'), f('s', 'dir'), f('s', '', true), f()])
      expect(matches(filter, closed('Dir/Sub', false))).toBe(true);
    // Below it: only a recursive close reaches there, whether the place is watched recursively or not.
    for (const filter of [f('s', 'dir/sub/a.txt'), f('s', 'dir/sub/deeper'), f('s', 'dir/sub/deeper', true)]) {
      expect(matches(filter, closed('Dir/Sub', true))).toBe(true);
      expect(matches(filter, closed('Dir/Sub', false))).toBe(false);
    }
    expect(matches(f('s', 'a.txt'), closed('', true))).toBe(true);
    expect(matches(f('s', 'dir/subway'), closed('Dir/Sub', true))).toBe(false);
    expect(matches(f('s', 'dir/other'), closed('Dir/Sub', true))).toBe(false);
    expect(matches(f('other', 'dir/sub/a.txt'), closed('Dir/Sub', true))).toBe(false);
    expect(matches(f('s', 'dir/sub/a.txt', false, ['HandleForceClosed']), closed('Dir/Sub', true))).toBe(false);
  });

  it('shows a confined (SAS) watcher below a recursive force-close its ancestor path but not the handle ids closed elsewhere', () => {
    const closed: WatchEvent = { ...at('s', 'Dir', 'HandlesForceClosed'), handleIds: ['1', '2'], recursive: true };
    const confined = (pathKey: string) => ({ ...f('s', pathKey), confined: true });
    for (const below of ['dir/a.txt', 'dir/sub']) {
      const shown = visibleTo(confined(below), closed);
      expect(shown).toEqual({ ...closed, handleIds: undefined });
      expect(shown).not.toHaveProperty('handleIds');
    }
    // At its place or below it, every handle it names was in the place.
    expect(visibleTo(confined('dir'), closed)).toBe(closed);
    expect(visibleTo(confined(''), closed)).toBe(closed);
    expect(visibleTo(f('s', 'dir/a.txt'), closed)).toBe(closed);
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
      'HandlesForceClosed',
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
      'HandlesOpened',
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
    // A force-close chunk's stream has it as its only event: its place is where the close was asked.
    expect(
      placeOfFirstEvent(
        recorded('HandlesForceClosed', { shareId: '3', path: 'Q3', recursive: true, handleIds: ['1'] }),
        shares,
      ),
    ).toEqual({ share: 'reports', path: 'Q3' });
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
    // Per-handle force-closes (Delete Share's, and older ones) as before: one handle id, no job.
    const oneClosed = recorded(
      'HandleForceClosed',
      { handleId: '56', path: 'a', fileId: '1', sessionId: '2', nodeKey: 'a', clientName: 'c' },
      { streamId: 'handle-56', metadata: { requestId: 'r', principal: 't', authentication: 'System', jobId: 'j1' } },
    );
    expect(toWatchEvent(oneClosed, place)).toEqual({
      checkpoint: { transactionId: '900', position: '10' },
      type: 'HandleForceClosed',
      share: 's',
      path: 'a',
      handleId: '56',
      time: '2026-12-01T03:00:00.000Z',
      principal: 't',
    });
    expect(toWatchEvent(recorded('NodeMoved', { from: 'old/a', path: 'a' }), place).from).toBe('old/a');
    expect(
      toWatchEvent(recorded('ForceCloseChunkCompleted', { chunk: 2, closed: 1000 }, { streamId: 'job-j1' }), place).job,
    ).toEqual({ id: 'j1', chunks: 2, closed: 1000 });
    const chunk = {
      shareId: '3',
      path: 'Q3',
      recursive: true,
      handleIds: ['7', '8'],
      last: { nodeKey: 'q3/b', handleId: '8' },
    };
    expect(
      toWatchEvent(
        recorded('HandlesForceClosed', chunk, {
          streamId: 'closure-c1',
          streamVersion: 1,
          metadata: { requestId: 'r', principal: 'admin', authentication: 'System', jobId: 'j1' },
        }),
        { share: 'reports', path: 'Q3' },
      ),
    ).toEqual({
      checkpoint: { transactionId: '900', position: '10' },
      type: 'HandlesForceClosed',
      share: 'reports',
      path: 'Q3',
      handleIds: ['7', '8'],
      recursive: true,
      job: { id: 'j1' },
      time: '2026-12-01T03:00:00.000Z',
      principal: 'admin',
    });
    // Force Close Handles itself, not a job: no job; a close of one node only does not reach below.
    const direct = toWatchEvent(
      recorded('HandlesForceClosed', { ...chunk, recursive: false }, { streamId: 'closure-c2' }),
      place,
    );
    expect(direct).toMatchObject({ handleIds: ['7', '8'], recursive: false });
    expect(direct).not.toHaveProperty('job');
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
