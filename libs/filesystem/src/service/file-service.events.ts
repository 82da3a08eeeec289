import type { CorsRule } from '@leasehold/domain';

/** A Storage Analytics metrics setting, stored as set and returned by Get File Service Properties. */
export interface MetricsSettings {
  version: string;
  enabled: boolean;
  includeAPIs?: boolean;
  retentionDays?: number;
}

/** An account's File service properties: the fold of its `fileservice-{account}` stream. */
export interface FileServiceProperties {
  hourMetrics: MetricsSettings;
  minuteMetrics: MetricsSettings;
  cors: CorsRule[];
}

/** What an account has before any Set File Service Properties: metrics off, no CORS. */
export const DEFAULT_FILE_SERVICE_PROPERTIES: FileServiceProperties = {
  hourMetrics: { version: '1.0', enabled: false },
  minuteMetrics: { version: '1.0', enabled: false },
  cors: [],
};

/** Set File Service Properties replaces only the settings the request names; the others stay. */
export type FileServicePropertiesSet = { type: 'FileServicePropertiesSet'; data: Partial<FileServiceProperties> };

export const evolveFileServiceProperties = (
  state: FileServiceProperties,
  event: FileServicePropertiesSet,
): FileServiceProperties => ({ ...state, ...event.data });

export const FILE_SERVICE_STREAM_PREFIX = 'fileservice-';
/** The stream of one account's File service properties. */
export const fileServiceStream = (account: string) => `${FILE_SERVICE_STREAM_PREFIX}${account}`;

/** A row of the file_service_properties projection: the one mapping both the inline projection and rebuilds use. */
export const fileServiceRow = (tenant: string, properties: FileServiceProperties, version: number) => ({
  tenant,
  properties,
  version,
});

/** The row a `fileservice-` stream's events leave, as rebuilds fold it. */
export const foldFileService = (tenant: string, events: { type: string; data: unknown }[]) =>
  fileServiceRow(
    tenant,
    events.reduce(
      (p, e) => evolveFileServiceProperties(p, e as FileServicePropertiesSet),
      DEFAULT_FILE_SERVICE_PROPERTIES,
    ),
    events.length,
  );
