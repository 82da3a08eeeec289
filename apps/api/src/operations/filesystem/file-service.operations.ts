import { Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  CorsRule,
  corsRulesProblem,
  DomainError,
  MAX_CORS_XML_BYTES,
  shareLeaseProperties,
  viewShareLease,
} from '@leasehold/domain';
import {
  FileServiceProperties,
  FileServicePropertiesQuery,
  ListSharesQuery,
  MetricsSettings,
  ReadShare,
  SetFileServicePropertiesCommand,
  ShareQuery,
  ShareSnapshotState,
  snapshotLease,
} from '@leasehold/filesystem';
import {
  AzureError,
  AzureOperation,
  element,
  escapeXml,
  invalidQuery,
  invalidXmlNode,
  markerBinding,
  MarkerCodec,
  pageSize,
  parseXmlBody,
  rfc1123,
  WireRequest,
  WireResponse,
  xmlChild,
  xmlList,
  xmlText,
  XmlValue,
  xmlResponse,
} from '@leasehold/wire';
import { listingEcho, MAX_LIST_RESULTS, resumeFrom, serviceEndpoint } from './listing';
/** What List Shares may include; Leasehold keeps no soft-deleted shares, so `deleted` adds nothing. */
const LIST_INCLUDES = ['metadata', 'snapshots', 'deleted'];

/** Where a List Shares page resumes: after a share, or (listing snapshots) after one of its snapshots. */
const isSharePosition = (value: unknown): value is { name: string; snapshot?: string } =>
  typeof (value as { name?: unknown })?.name === 'string' &&
  ['string', 'undefined'].includes(typeof (value as { snapshot?: unknown }).snapshot);

/** One entry of List Shares: a share, or one of its snapshots. */
interface ListedShare {
  share: ReadShare;
  snap?: ShareSnapshotState;
}

const list = (text: unknown) =>
  (typeof text === 'string' ? text : '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function readBoolean(value: unknown, node: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalidXmlNode(node);
}

function readMetrics(xml: XmlValue, node: string): MetricsSettings {
  if (typeof xml !== 'object' || Array.isArray(xml)) throw invalidXmlNode(node);
  const enabled = readBoolean(xml.Enabled, `${node}/Enabled`);
  const version = xmlText(xml.Version);
  const settings: MetricsSettings = {
    version: version !== undefined && version !== '' ? version : '1.0',
    enabled,
  };
  if (enabled) settings.includeAPIs = readBoolean(xml.IncludeAPIs, `${node}/IncludeAPIs`);
  const retention = xml.RetentionPolicy;
  if (retention !== undefined && readBoolean(xmlChild(retention, 'Enabled'), `${node}/RetentionPolicy/Enabled`)) {
    const daysText = xmlText(xmlChild(retention, 'Days')) ?? '';
    const days = Number(daysText);
    if (!/^\d{1,3}$/.test(daysText) || days < 1 || days > 365) throw invalidXmlNode(`${node}/RetentionPolicy/Days`);
    settings.retentionDays = days;
  }
  return settings;
}

function readCorsRules(xml: XmlValue): CorsRule[] {
  const rules = xmlList(xmlChild(xml, 'CorsRule')).map((rule): CorsRule => {
    const maxAge = xmlText(xmlChild(rule, 'MaxAgeInSeconds')) ?? '';
    if (!/^\d{1,9}$/.test(maxAge)) throw invalidXmlNode('MaxAgeInSeconds');
    return {
      allowedOrigins: list(xmlChild(rule, 'AllowedOrigins')),
      allowedMethods: list(xmlChild(rule, 'AllowedMethods')).map((m) => m.toUpperCase()),
      allowedHeaders: list(xmlChild(rule, 'AllowedHeaders')),
      exposedHeaders: list(xmlChild(rule, 'ExposedHeaders')),
      maxAgeInSeconds: Number(maxAge),
    };
  });
  const problem =
    corsRulesProblem(rules) ??
    (Buffer.byteLength(corsXml(rules)) > MAX_CORS_XML_BYTES ? 'The CORS rules exceed 2 KiB of XML.' : undefined);
  if (problem) throw new AzureError(400, 'InvalidXmlNodeValue', problem, { XmlNodeName: 'Cors' });
  return rules;
}

/** Set File Service Properties' body: only the settings it names change. */
function readServiceProperties(body: Buffer): Partial<FileServiceProperties> {
  const tree = parseXmlBody(body, ['CorsRule']);
  const root = tree.StorageServiceProperties;
  if (root === undefined)
    throw invalidXmlNode('StorageServiceProperties', 'The root element must be StorageServiceProperties.');
  if (root === '') return {};
  // Multichannel stays off (what Get answers): Leasehold serves the REST API only, with no SMB endpoint.
  const multichannel = xmlChild(xmlChild(xmlChild(root, 'ProtocolSettings'), 'SMB'), 'Multichannel');
  if (xmlChild(multichannel, 'Enabled') === 'true') {
    throw new AzureError(
      400,
      'InvalidXmlNodeValue',
      'SMB Multichannel cannot be enabled: Leasehold has no SMB endpoint.',
      { XmlNodeName: 'Multichannel' },
    );
  }
  const change: Partial<FileServiceProperties> = {};
  const hourMetrics = xmlChild(root, 'HourMetrics');
  const minuteMetrics = xmlChild(root, 'MinuteMetrics');
  const cors = xmlChild(root, 'Cors');
  if (hourMetrics !== undefined) change.hourMetrics = readMetrics(hourMetrics, 'HourMetrics');
  if (minuteMetrics !== undefined) change.minuteMetrics = readMetrics(minuteMetrics, 'MinuteMetrics');
  if (cors !== undefined) change.cors = readCorsRules(cors);
  return change;
}

function metricsXml(name: string, m: MetricsSettings): string {
  const retention =
    m.retentionDays === undefined
      ? '<RetentionPolicy><Enabled>false</Enabled></RetentionPolicy>'
      : `<RetentionPolicy><Enabled>true</Enabled>${element('Days', m.retentionDays)}</RetentionPolicy>`;
  return `<${name}>${element('Version', m.version)}${element('Enabled', String(m.enabled))}${m.includeAPIs === undefined ? '' : element('IncludeAPIs', String(m.includeAPIs))}${retention}</${name}>`;
}

function corsXml(cors: CorsRule[]): string {
  const rules = cors
    .map(
      (r) =>
        `<CorsRule>${element('AllowedOrigins', r.allowedOrigins.join(','))}${element('AllowedMethods', r.allowedMethods.join(','))}` +
        `${element('MaxAgeInSeconds', r.maxAgeInSeconds)}${element('ExposedHeaders', r.exposedHeaders.join(','))}${element('AllowedHeaders', r.allowedHeaders.join(','))}</CorsRule>`,
    )
    .join('');
  return `<Cors>${rules}</Cors>`;
}

/** The Python SDK reads these unconditionally; they never change. */
const PROTOCOL_SETTINGS =
  '<ProtocolSettings><SMB><Multichannel><Enabled>false</Enabled></Multichannel></SMB></ProtocolSettings>';

function servicePropertiesXml(p: FileServiceProperties): string {
  return `<StorageServiceProperties>${metricsXml('HourMetrics', p.hourMetrics)}${metricsXml('MinuteMetrics', p.minuteMetrics)}${corsXml(p.cors)}${PROTOCOL_SETTINGS}</StorageServiceProperties>`;
}

/** The account-level operations of the File service: List Shares and Get/Set File Service Properties. */
@Injectable()
export class FileServiceOperations {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    /** List Shares markers name the last share returned, signed and bound to the account and the listing's prefix. */
    private readonly markers: MarkerCodec,
  ) {}

  @AzureOperation({ name: 'List Shares', method: 'GET', comp: 'list', resource: 'account', sas: 'l' })
  async listShares(req: WireRequest): Promise<WireResponse> {
    const limit = pageSize(req.query, MAX_LIST_RESULTS);
    const prefix = req.query['prefix'] ?? '';
    const include = list(req.query['include'] ?? '').map((i) => i.toLowerCase());
    const unknown = include.find((i) => !LIST_INCLUDES.includes(i));
    if (unknown !== undefined) throw invalidQuery('include', req.query['include']);
    const withSnapshots = include.includes('snapshots');
    // A listing with snapshots resumes at a snapshot too: its markers are its own.
    const binding = markerBinding('shares', req.context.tenant, prefix, ...(withSnapshots ? ['snapshots'] : []));
    const after = resumeFrom(this.markers, binding, req.query['marker'], isSharePosition, { name: '' });
    const { shares, more: moreShares } = await this.queries.execute(
      new ListSharesQuery(req.context, prefix, after.name, limit),
    );
    // Each share's snapshots, oldest first, come before the share itself (as Azure lists them); a
    // marker at a snapshot resumes with that share's later snapshots. maxresults counts every entry.
    const resumed =
      withSnapshots && after.snapshot !== undefined
        ? await this.queries.execute(new ShareQuery(req.context, after.name)).catch((error: unknown) => {
            // Deleted since: the listing goes on after it.
            if (error instanceof DomainError && error.reason === 'ShareNotFound') return undefined;
            throw error;
          })
        : undefined;
    const entries: ListedShare[] = [
      ...(resumed
        ? [
            ...resumed.snapshots
              .filter((snap) => snap.snapshot > after.snapshot!)
              .map((snap) => ({ share: resumed, snap })),
            { share: resumed },
          ]
        : []),
      ...shares.flatMap((share) => [
        ...(withSnapshots ? share.snapshots.map((snap) => ({ share, snap })) : []),
        { share },
      ]),
    ];
    const page = entries.slice(0, limit);
    const last = page[page.length - 1];
    const next =
      entries.length > limit || moreShares
        ? this.markers.encode(binding, {
            name: last.share.name,
            ...(last.snap ? { snapshot: last.snap.snapshot } : {}),
          })
        : '';
    const withMetadata = include.includes('metadata');
    const metadataXml = (metadata: Record<string, string>) =>
      withMetadata
        ? `<Metadata>${Object.entries(metadata)
            .map(([k, v]) => element(k, v))
            .join('')}</Metadata>`
        : '';
    // A lease (the share's, or a snapshot's own) as it stands on the database's clock when the page was read, as Get Share Properties gives it.
    const leaseXml = (s: ReadShare, snap?: ShareSnapshotState) => {
      const lease = shareLeaseProperties(viewShareLease(snap ? snapshotLease(snap) : s.lease, s.readAt));
      return `${element('LeaseStatus', lease.status)}${element('LeaseState', lease.state)}${lease.duration ? element('LeaseDuration', lease.duration) : ''}`;
    };
    const entryXml = ({ share: s, snap }: ListedShare) => {
      if (snap)
        return (
          `<Share>${element('Name', s.name)}${element('Snapshot', snap.snapshot)}` +
          `<Properties>${element('Last-Modified', rfc1123(new Date(snap.lastModified)))}${element('Etag', snap.etag)}${element('Quota', snap.quota)}` +
          `${leaseXml(s, snap)}${element('EnabledProtocols', 'SMB')}</Properties>${metadataXml(snap.metadata)}</Share>`
        );
      const properties =
        `<Properties>${element('Last-Modified', rfc1123(new Date(s.lastModified)))}${element('Etag', s.etag)}${element('Quota', s.quota)}` +
        `${element('AccessTier', s.accessTier)}${s.accessTierChangedAt ? element('AccessTierChangeTime', rfc1123(new Date(s.accessTierChangedAt))) : ''}` +
        `${leaseXml(s)}${element('EnabledProtocols', 'SMB')}</Properties>`;
      return `<Share>${element('Name', s.name)}${properties}${metadataXml(s.metadata)}</Share>`;
    };
    const listed = page.map(entryXml).join('');
    const body =
      `<EnumerationResults ServiceEndpoint="${escapeXml(serviceEndpoint(req))}">` +
      listingEcho(req, prefix, limit) +
      `<Shares>${listed}</Shares>${element('NextMarker', next)}</EnumerationResults>`;
    return xmlResponse(body);
  }

  @AzureOperation({
    name: 'Get File Service Properties',
    method: 'GET',
    restype: 'service',
    comp: 'properties',
    resource: 'account',
    sas: 'r',
  })
  async getProperties(req: WireRequest): Promise<WireResponse> {
    const properties = await this.queries.execute(new FileServicePropertiesQuery(req.context));
    return xmlResponse(servicePropertiesXml(properties));
  }

  @AzureOperation({
    name: 'Set File Service Properties',
    method: 'PUT',
    restype: 'service',
    comp: 'properties',
    resource: 'account',
    sas: 'w',
  })
  async setProperties(req: WireRequest): Promise<WireResponse> {
    await this.commands.execute(new SetFileServicePropertiesCommand(req.context, readServiceProperties(req.body)));
    return { status: 202 };
  }
}
