import { ShareLeaseEvent } from '@leasehold/domain';
import { foldShare, forLeaseSubject, shareRow, snapshotLease } from './share.events';

const at = (minute: number) => `2026-12-01T00:${String(minute).padStart(2, '0')}:00.000Z`;

describe('a share folded from its stream', () => {
  const created = {
    type: 'ShareCreated',
    data: { shareId: '7', name: 's', quota: 5, metadata: { a: '1' }, etag: '"0x1"', at: at(0) },
  };

  it('takes each setting from its event, moves the ETag, and counts every event for the version', () => {
    const share = foldShare([
      created,
      { type: 'ShareMetadataSet', data: { etag: '"0x2"', at: at(1), metadata: { b: '2' } } },
      // A lease event (libs/leases decides it) on the same stream: the lease changes, the settings and ETag do not.
      { type: 'ShareLeaseAcquired', data: { leaseId: 'x', duration: -1, epoch: 1, previousState: 'available' } },
      {
        type: 'SharePropertiesSet',
        data: { etag: '"0x3"', at: at(2), quota: 9, accessTier: 'Cool', accessTierChanged: true },
      },
      {
        type: 'SharePropertiesSet',
        data: { etag: '"0x4"', at: at(3), quota: 10, accessTier: 'Cool', accessTierChanged: false },
      },
      {
        type: 'ShareAclSet',
        data: { etag: '"0x5"', at: at(4), signedIdentifiers: [{ id: 'p', accessPolicy: { permission: 'r' } }] },
      },
    ]);
    expect(share).toEqual({
      shareId: '7',
      name: 's',
      quota: 10,
      accessTier: 'Cool',
      accessTierChangedAt: at(2),
      metadata: { b: '2' },
      signedIdentifiers: [{ id: 'p', accessPolicy: { permission: 'r' } }],
      lease: { status: 'leased', leaseId: 'x', epoch: 1, duration: -1 },
      snapshots: [],
      etag: '"0x5"',
      lastModified: at(4),
      version: 6,
    });
    expect(shareRow('t', share!)).toMatchObject({
      tenant: 't',
      share_id: '7',
      access_tier: 'Cool',
      access_tier_changed_at: at(2),
      lease_status: 'leased',
      lease_id: 'x',
      lease_epoch: 1,
      version: 6,
    });
  });

  it('is gone once deleted, and a fresh share has the default tier and no policies', () => {
    expect(foldShare([created, { type: 'ShareDeleted', data: { shareId: '7', name: 's' } }])).toBeUndefined();
    const fresh = foldShare([created]);
    expect(fresh).toMatchObject({
      accessTier: 'TransactionOptimized',
      signedIdentifiers: [],
      lease: { status: 'available', epoch: 0 },
      version: 1,
    });
    expect(fresh?.accessTierChangedAt).toBeUndefined();
  });

  it('keeps its snapshots in order, without touching its ETag or Last-Modified; deleting one removes only it', () => {
    const snapshot = (name: string) => ({
      snapshot: name,
      pgSnapshot: '10:12:11',
      position: '42',
      shareVersion: 1,
      metadata: { a: '1' },
      etag: '"0x1"',
      lastModified: at(0),
      quota: 5,
    });
    const first = snapshot('2026-12-01T00:01:00.0000000Z');
    const second = snapshot('2026-12-01T00:02:00.0000000Z');
    const share = foldShare([
      created,
      { type: 'ShareSnapshotCreated', data: first },
      { type: 'ShareSnapshotCreated', data: second },
      { type: 'ShareSnapshotDeleted', data: { snapshot: first.snapshot } },
    ]);
    expect(share).toMatchObject({ snapshots: [second], etag: '"0x1"', lastModified: at(0), version: 4 });
    expect(shareRow('t', share!).snapshots).toEqual([second]);
  });

  it("gives each snapshot a lease of its own: a lease event naming a snapshot changes only that snapshot's", () => {
    const snapshot = (name: string) => ({
      snapshot: name,
      pgSnapshot: '10:12:11',
      position: '42',
      shareVersion: 1,
      metadata: {},
      etag: '"0x1"',
      lastModified: at(0),
      quota: 5,
    });
    const [first, second] = [snapshot('2026-12-01T00:01:00.0000000Z'), snapshot('2026-12-01T00:02:00.0000000Z')];
    const acquired = (leaseId: string, epoch: number) => ({
      type: 'ShareLeaseAcquired',
      data: { leaseId, duration: 15, expiresAt: at(5), epoch, previousState: 'available' },
    });
    const events = [
      created,
      { type: 'ShareSnapshotCreated', data: first },
      { type: 'ShareSnapshotCreated', data: second },
      ...forLeaseSubject([acquired('a', 1) as ShareLeaseEvent], first.snapshot),
      acquired('s', 1),
      ...forLeaseSubject(
        [{ type: 'ShareLeaseBroken', data: { leaseId: 'a', brokenAt: at(6), epoch: 2, fromState: 'leased' } }],
        first.snapshot,
      ),
    ];
    expect(events[3].data).toMatchObject({ snapshot: first.snapshot, leaseId: 'a' });
    const share = foldShare(events)!;
    const expiresAt = Date.parse(at(5));
    expect(share.lease).toEqual({ status: 'leased', leaseId: 's', epoch: 1, duration: 15, expiresAt });
    expect(share.snapshots).toEqual([
      { ...first, lease: { status: 'broken', leaseId: 'a', epoch: 2, brokenAt: Date.parse(at(6)) } },
      second,
    ]);
    expect(snapshotLease(share.snapshots[1])).toEqual({ status: 'available', epoch: 0 });
    expect(share.version).toBe(6);
    expect(shareRow('t', share).snapshots).toEqual(share.snapshots);
    // Deleting the snapshot takes its lease with it.
    const gone = foldShare([...events, { type: 'ShareSnapshotDeleted', data: { snapshot: first.snapshot } }])!;
    expect(gone.snapshots).toEqual([second]);
  });
});
