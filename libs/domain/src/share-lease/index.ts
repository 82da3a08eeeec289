export * from './share-lease.types';
export {
  decideShareDelete,
  decideShareLease,
  evolveShareLease,
  initialShareLeaseState,
  isShareLeaseRejection,
  observeShareLease,
  shareLeaseProperties,
  viewShareLease,
} from './share-lease.decider';
