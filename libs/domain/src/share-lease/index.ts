export * from './share-lease.types';
export {
  decideShareLease,
  evolveShareLease,
  initialShareLeaseState,
  isShareLeaseRejection,
  observeShareLease,
  shareLeaseProperties,
  viewShareLease,
} from './share-lease.decider';
