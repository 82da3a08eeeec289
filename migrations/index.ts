import { InitialSchema1763600000000 } from './1763600000000-InitialSchema';
import { Handles1763700000000 } from './1763700000000-Handles';
import { Jobs1763800000000 } from './1763800000000-Jobs';
import { ProjectionsWithoutForeignKeys1763900000000 } from './1763900000000-ProjectionsWithoutForeignKeys';
import { AuditReadModel1764000000000 } from './1764000000000-AuditReadModel';
import { DropDeadColumns1764100000000 } from './1764100000000-DropDeadColumns';
import { ShareLeases1764200000000 } from './1764200000000-ShareLeases';
import { ForceClosedByRequest1764250000000 } from './1764250000000-ForceClosedByRequest';
import { ShareSettingsAndFileService1764300000000 } from './1764300000000-ShareSettingsAndFileService';
import { AuditByStream1764400000000 } from './1764400000000-AuditByStream';
import { NodeCopy1764410000000 } from './1764410000000-NodeCopy';
import { WatchNotify1764600000000 } from './1764600000000-WatchNotify';
import { WatchMoves1764718000000 } from './1764718000000-WatchMoves';
import { ShareSnapshots1764720000000 } from './1764720000000-ShareSnapshots';
import { SnapshotLeases1764730000000 } from './1764730000000-SnapshotLeases';
import { ForceCloseAppend1764750000000 } from './1764750000000-ForceCloseAppend';
import { EventsHorizon1764760000000 } from './1764760000000-EventsHorizon';
import { KeysLeadWithTenant1764770000000 } from './1764770000000-KeysLeadWithTenant';
import { NotifyAfterCommit1764780000000 } from './1764780000000-NotifyAfterCommit';
import { LeanAuditLog1764790000000 } from './1764790000000-LeanAuditLog';
import { DropHandleSequences1764800000000 } from './1764800000000-DropHandleSequences';
import { ChunkClosures1764900000000 } from './1764900000000-ChunkClosures';
import { Lz4Toast1765000000000 } from './1765000000000-Lz4Toast';
import { AuditKeyLeadsWithTenant1765100000000 } from './1765100000000-AuditKeyLeadsWithTenant';
import { KeysCollateC1765200000000 } from './1765200000000-KeysCollateC';
import { AuditIndexesStayHot1765300000000 } from './1765300000000-AuditIndexesStayHot';

/** Every migration, in order. Listed as classes so they run the same from sources and from dist. */
export const migrations = [
  InitialSchema1763600000000,
  Handles1763700000000,
  Jobs1763800000000,
  ProjectionsWithoutForeignKeys1763900000000,
  AuditReadModel1764000000000,
  DropDeadColumns1764100000000,
  ShareLeases1764200000000,
  ForceClosedByRequest1764250000000,
  ShareSettingsAndFileService1764300000000,
  AuditByStream1764400000000,
  NodeCopy1764410000000,
  WatchNotify1764600000000,
  WatchMoves1764718000000,
  ShareSnapshots1764720000000,
  SnapshotLeases1764730000000,
  ForceCloseAppend1764750000000,
  EventsHorizon1764760000000,
  KeysLeadWithTenant1764770000000,
  NotifyAfterCommit1764780000000,
  LeanAuditLog1764790000000,
  DropHandleSequences1764800000000,
  ChunkClosures1764900000000,
  Lz4Toast1765000000000,
  AuditKeyLeadsWithTenant1765100000000,
  KeysCollateC1765200000000,
  AuditIndexesStayHot1765300000000,
];
