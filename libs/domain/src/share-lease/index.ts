export * from './share-lease.types';
export {
  decideShareDelete,
  decideShareLease,
  decideSnapshotsDelete,
  DeleteSnapshotsOption,
  evolveShareLease,
  initialShareLeaseState,
  isShareLeaseRejection,
  observeShareLease,
  shareLeaseProperties,
  viewShareLease,
} from './share-lease.decider';
