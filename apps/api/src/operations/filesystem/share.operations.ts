import { Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  DeleteSnapshotsOption,
  ShareLeaseState,
  shareLeaseProperties,
  SignedIdentifier,
  signedIdentifiersProblem,
  viewShareLease,
} from '@leasehold/domain';
import {
  ACCESS_TIERS,
  AccessTier,
  ChangeShareCommand,
  CreateShareCommand,
  CreateShareSnapshotCommand,
  DeleteShareCommand,
  DeleteShareSnapshotCommand,
  ShareChange,
  ReadShare,
  ShareQuery,
  ShareSnapshotQuery,
  ShareState,
  snapshotLease,
  ShareUsageQuery,
} from '@leasehold/filesystem';
import {
  AzureError,
  AzureOperation,
  element,
  guidHeader,
  header,
  integerHeader,
  invalidHeader,
  invalidXmlNode,
  isSasTime,
  parseXmlBody,
  rfc1123,
  WireRequest,
  WireResponse,
  xmlChild,
  xmlList,
  xmlText,
  xmlResponse,
} from '@leasehold/wire';
import { LEASE_EPOCH_HEADER, metadataResponseHeaders, readMetadata } from './wire-format';

const MAX_QUOTA_GIB = 102400;

/** x-ms-delete-snapshots' values (any case). */
const DELETE_SNAPSHOTS: DeleteSnapshotsOption[] = ['include', 'include-leased'];

const stampHeaders = (share: { etag: string; lastModified: string }) => ({
  etag: share.etag,
  'last-modified': rfc1123(new Date(share.lastModified)),
});

function quotaHeader(req: WireRequest): number | undefined {
  const quota = integerHeader(req, 'x-ms-share-quota', MAX_QUOTA_GIB);
  if (quota === 0) throw invalidHeader('x-ms-share-quota', '0', 'The share quota must be at least 1 GiB.');
  return quota;
}

function accessTierHeader(req: WireRequest): AccessTier | undefined {
  const value = header(req, 'x-ms-access-tier');
  if (value === undefined) return undefined;
  const tier = ACCESS_TIERS.find((t) => t.toLowerCase() === value.toLowerCase());
  if (!tier) throw invalidHeader('x-ms-access-tier', value);
  return tier;
}

/** The body of Set Share ACL: up to five signed identifiers; an empty body removes them all. */
function readSignedIdentifiers(body: Buffer): SignedIdentifier[] {
  if (body.length === 0) return [];
  const tree = parseXmlBody(body, ['SignedIdentifier']);
  if (!('SignedIdentifiers' in tree))
    throw invalidXmlNode('SignedIdentifiers', 'The root element must be SignedIdentifiers.');
  const list = xmlList(xmlChild(tree.SignedIdentifiers, 'SignedIdentifier'));
  const identifiers = list.map((item): SignedIdentifier => {
    const policy = xmlChild(item, 'AccessPolicy');
    const text = (name: string) => {
      const value = xmlText(xmlChild(policy, name));
      return value === '' ? undefined : value;
    };
    return {
      id: xmlText(xmlChild(item, 'Id')) ?? '',
      accessPolicy: Object.fromEntries(
        Object.entries({
          start: text('Start'),
          expiry: text('Expiry'),
          permission: text('Permission'),
        }).filter(([, v]) => v !== undefined),
      ),
    };
  });
  const problem = signedIdentifiersProblem(identifiers, isSasTime);
  if (problem) throw new AzureError(400, 'InvalidXmlDocument', problem);
  return identifiers;
}

/** Get Share Properties' settings headers, for the share and for a snapshot of it alike. */
const sharePropertyHeaders = (share: ShareState) => ({
  ...stampHeaders(share),
  'x-ms-share-quota': share.quota,
  'x-ms-access-tier': share.accessTier,
  'x-ms-access-tier-change-time': share.accessTierChangedAt && rfc1123(new Date(share.accessTierChangedAt)),
  'x-ms-enabled-protocols': 'SMB',
});

/** Get Share Properties' lease headers, of the share or of a snapshot: as it stands on the database's clock, like every decision about it. */
function leaseHeaders(lease: ShareLeaseState, readAt: number) {
  const properties = shareLeaseProperties(viewShareLease(lease, readAt));
  return {
    'x-ms-lease-state': properties.state,
    'x-ms-lease-status': properties.status,
    'x-ms-lease-duration': properties.duration,
    [LEASE_EPOCH_HEADER]: lease.epoch,
  };
}

function signedIdentifiersXml(identifiers: SignedIdentifier[]): string {
  const items = identifiers
    .map(({ id, accessPolicy: p }) => {
      const policy = `${p.start ? element('Start', p.start) : ''}${p.expiry ? element('Expiry', p.expiry) : ''}${p.permission ? element('Permission', p.permission) : ''}`;
      return `<SignedIdentifier>${element('Id', id)}<AccessPolicy>${policy}</AccessPolicy></SignedIdentifier>`;
    })
    .join('');
  return `<SignedIdentifiers>${items}</SignedIdentifiers>`;
}

/** Create, Get Properties, Set Properties, Get/Set Metadata, Get/Set ACL, Get Stats and Delete Share. */
@Injectable()
export class ShareOperations {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  private existing(req: WireRequest): Promise<ReadShare> {
    return this.queries.execute(new ShareQuery(req.context, req.share!));
  }

  private change(req: WireRequest, change: ShareChange): Promise<ShareState> {
    return this.commands.execute(new ChangeShareCommand(req.context, req.share!, change));
  }

  @AzureOperation({ name: 'Create Share', method: 'PUT', restype: 'share', resource: 'share', sas: 'c' })
  async create(req: WireRequest): Promise<WireResponse> {
    const quota = quotaHeader(req) ?? MAX_QUOTA_GIB;
    const result = await this.commands.execute(
      new CreateShareCommand(req.context, req.share!, quota, readMetadata(req.rawHeaders)),
    );
    return { status: 201, headers: { etag: result.etag, 'last-modified': rfc1123(result.lastModified) } };
  }

  /** Snapshot Share: 201 with the snapshot's name in x-ms-snapshot; account owner only, as in Azure. */
  @AzureOperation({ name: 'Snapshot Share', method: 'PUT', restype: 'share', comp: 'snapshot', resource: 'share' })
  async snapshot(req: WireRequest): Promise<WireResponse> {
    const metadata = readMetadata(req.rawHeaders);
    const snapshot = await this.commands.execute(
      new CreateShareSnapshotCommand(req.context, req.share!, Object.keys(metadata).length > 0 ? metadata : undefined),
    );
    // The share's ETag and Last-Modified, which the snapshot keeps and does not change.
    return { status: 201, headers: { ...stampHeaders(snapshot), 'x-ms-snapshot': snapshot.snapshot } };
  }

  /** A share snapshot as taken: the share's settings then, the snapshot's metadata, and the snapshot's own lease now. */
  private async snapshotProperties(req: WireRequest, snapshot: string): Promise<WireResponse> {
    const view = await this.queries.execute(new ShareSnapshotQuery(req.context, req.share!, snapshot));
    const lease = snapshotLease(view.snapshot);
    return {
      status: 200,
      headers: {
        ...sharePropertyHeaders(view.share),
        ...leaseHeaders(lease, view.readAt),
        ...metadataResponseHeaders(view.snapshot.metadata),
      },
    };
  }

  @AzureOperation({
    name: 'Get Share Properties',
    method: 'GET',
    restype: 'share',
    resource: 'share',
    sas: 'r',
    shareSnapshot: true,
  })
  async getProperties(req: WireRequest): Promise<WireResponse> {
    const snapshot = req.query['sharesnapshot'];
    if (snapshot !== undefined) return this.snapshotProperties(req, snapshot);
    const share = await this.existing(req);
    return {
      status: 200,
      headers: {
        ...sharePropertyHeaders(share),
        ...leaseHeaders(share.lease, share.readAt),
        ...metadataResponseHeaders(share.metadata),
      },
    };
  }

  @AzureOperation({
    name: 'Set Share Properties',
    method: 'PUT',
    restype: 'share',
    comp: 'properties',
    resource: 'share',
    sas: 'w',
  })
  async setProperties(req: WireRequest): Promise<WireResponse> {
    const share = await this.change(req, {
      kind: 'properties',
      quota: quotaHeader(req),
      accessTier: accessTierHeader(req),
    });
    return { status: 200, headers: stampHeaders(share) };
  }

  @AzureOperation({
    name: 'Get Share Metadata',
    method: 'GET',
    restype: 'share',
    comp: 'metadata',
    resource: 'share',
    sas: 'r',
    shareSnapshot: true,
  })
  async getMetadata(req: WireRequest): Promise<WireResponse> {
    const snapshot = req.query['sharesnapshot'];
    if (snapshot !== undefined) {
      const view = await this.queries.execute(new ShareSnapshotQuery(req.context, req.share!, snapshot));
      return {
        status: 200,
        headers: { ...stampHeaders(view.share), ...metadataResponseHeaders(view.snapshot.metadata) },
      };
    }
    const share = await this.existing(req);
    return { status: 200, headers: { ...stampHeaders(share), ...metadataResponseHeaders(share.metadata) } };
  }

  @AzureOperation({
    name: 'Set Share Metadata',
    method: 'PUT',
    restype: 'share',
    comp: 'metadata',
    resource: 'share',
    sas: 'w',
  })
  async setMetadata(req: WireRequest): Promise<WireResponse> {
    const share = await this.change(req, { kind: 'metadata', metadata: readMetadata(req.rawHeaders) });
    return { status: 200, headers: stampHeaders(share) };
  }

  /** Only the account owner reads or sets a share's stored access policies (no SAS: `sas` left out). */
  @AzureOperation({ name: 'Get Share ACL', method: 'GET', restype: 'share', comp: 'acl', resource: 'share' })
  async getAcl(req: WireRequest): Promise<WireResponse> {
    const share = await this.existing(req);
    return xmlResponse(signedIdentifiersXml(share.signedIdentifiers), 200, stampHeaders(share));
  }

  @AzureOperation({ name: 'Set Share ACL', method: 'PUT', restype: 'share', comp: 'acl', resource: 'share' })
  async setAcl(req: WireRequest): Promise<WireResponse> {
    const share = await this.change(req, { kind: 'acl', signedIdentifiers: readSignedIdentifiers(req.body) });
    return { status: 200, headers: stampHeaders(share) };
  }

  @AzureOperation({
    name: 'Get Share Stats',
    method: 'GET',
    restype: 'share',
    comp: 'stats',
    resource: 'share',
    sas: 'r',
  })
  async getStats(req: WireRequest): Promise<WireResponse> {
    const share = await this.existing(req);
    const bytes = await this.queries.execute(new ShareUsageQuery(share));
    return xmlResponse(`<ShareStats>${element('ShareUsageBytes', bytes)}</ShareStats>`, 200, stampHeaders(share));
  }

  /**
   * Delete Share: with sharesnapshot, that snapshot only (a leased one with its lease id); else the
   * share, which needs x-ms-delete-snapshots while it has snapshots: include (refused while one is
   * leased) or include-leased.
   */
  @AzureOperation({
    name: 'Delete Share',
    method: 'DELETE',
    restype: 'share',
    resource: 'share',
    sas: 'd',
    shareSnapshot: true,
  })
  async delete(req: WireRequest): Promise<WireResponse> {
    const given = header(req, 'x-ms-delete-snapshots');
    const deleteSnapshots = DELETE_SNAPSHOTS.find((option) => option === given?.toLowerCase());
    if (given !== undefined && !deleteSnapshots) throw invalidHeader('x-ms-delete-snapshots', given);
    const snapshot = req.query['sharesnapshot'];
    const leaseId = guidHeader(req, 'x-ms-lease-id');
    if (snapshot !== undefined)
      await this.commands.execute(new DeleteShareSnapshotCommand(req.context, req.share!, snapshot, leaseId));
    else await this.commands.execute(new DeleteShareCommand(req.context, req.share!, leaseId, deleteSnapshots));
    return { status: 202 };
  }
}
