import { HandleMarker } from '@leasehold/domain';

/** A position in the (node_key, handle_id) order of handles under a path. */
export type HandlePosition = HandleMarker;

export const isHandlePosition = (value: unknown): value is HandlePosition => {
  const v = value as HandlePosition;
  return typeof v?.nodeKey === 'string' && typeof v?.handleId === 'string' && /^\d{1,19}$/.test(v.handleId);
};
