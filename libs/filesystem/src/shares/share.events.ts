/** The data of ShareCreated: everything the shares projection holds. */
export interface ShareCreated {
  shareId: string;
  name: string;
  quota: number;
  metadata: Record<string, string>;
  etag: string;
  at: Date | string;
}

/** The events of a share's stream, share-<id>. */
export type ShareEvent =
  { type: 'ShareCreated'; data: ShareCreated } | { type: 'ShareDeleted'; data: { shareId: string; name: string } };

export const SHARE_STREAM_PREFIX = 'share-';
export const shareStream = (shareId: string) => `${SHARE_STREAM_PREFIX}${shareId}`;

/** A share's row in the shares projection: the one mapping both the inline projection and rebuilds use. */
export const shareRow = (tenant: string, share: ShareCreated) => ({
  tenant,
  name: share.name,
  share_id: share.shareId,
  quota: share.quota,
  metadata: share.metadata,
  etag: share.etag,
  last_modified: share.at,
  version: 1,
});
