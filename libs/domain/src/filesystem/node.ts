import { evolveLease, initialLeaseState, LeaseEvent, LeaseState } from '../lease';

/** An inclusive byte range [start, end] of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

/** HTTP properties of a file (Set File Properties / Create File headers). */
export interface FileProperties {
  contentType?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  cacheControl?: string;
  contentDisposition?: string;
  /** Base64 MD5 of the whole content, as the client set it. */
  contentMD5?: string;
}

/** The copy a file is the destination of (Copy File completes at once, so its status is always success). */
export interface CopyState {
  id: string;
  /** The x-ms-copy-source the request named. */
  source: string;
  /** Bytes copied / total, as Azure writes it. */
  progress: string;
  completedAt: string;
}

/** The current state of one directory or file: a fold of the events on its stream. */
export interface NodeState {
  kind: 'directory' | 'file';
  fileId: string;
  parentId: string;
  /** Case-preserved path below the share, components joined by '/'. */
  path: string;
  metadata: Record<string, string>;
  properties: FileProperties;
  contentLength: number;
  etag: string;
  createdAt: string;
  lastModified: string;
  lease: LeaseState;
  /** Set by Copy File; a later Create File or Set File Properties clears it (as in Azure). */
  copy?: CopyState;
  version: number;
}

interface Stamp {
  etag: string;
  at: string;
}

/** Creation events carry the share, so the nodes projection can be rebuilt from the log alone. */
export type NodeEvent =
  | {
      type: 'DirectoryCreated';
      data: Stamp & {
        shareId: string;
        fileId: string;
        parentId: string;
        path: string;
        metadata: Record<string, string>;
      };
    }
  | { type: 'DirectoryMetadataSet'; data: Stamp & { metadata: Record<string, string> } }
  | { type: 'DirectoryPropertiesSet'; data: Stamp }
  | { type: 'DirectoryDeleted'; data: { path: string } }
  | {
      type: 'FileCreated';
      data: Stamp & {
        shareId: string;
        fileId: string;
        parentId: string;
        path: string;
        contentLength: number;
        properties: FileProperties;
        metadata: Record<string, string>;
        replaced: boolean;
        /** A copy's written ranges (the source's); a plain create has none. */
        ranges?: ByteRange[];
        /** Copy File: the copy that wrote this file. */
        copy?: CopyState;
      };
    }
  | {
      type: 'FileRangeWritten';
      data: Stamp & {
        start: number;
        end: number;
        length: number;
        contentMD5: string;
        copiedFrom?: { share: string; path: string; start: number };
      };
    }
  | { type: 'FileRangeCleared'; data: Stamp & { start: number; end: number } }
  | { type: 'FileMetadataSet'; data: Stamp & { metadata: Record<string, string> } }
  | { type: 'FilePropertiesSet'; data: Stamp & { properties: FileProperties; contentLength: number } }
  | { type: 'FileDeleted'; data: { path: string } }
  /** Rename File or Rename Directory of this node: a new path and parent; the FileId, the lease and the handles' file stay. */
  | {
      type: 'NodeRenamed';
      data: Stamp & { from: string; path: string; parentId: string; metadata?: Record<string, string> };
    }
  /** This node moved with a renamed directory above it: only its path changes. */
  | { type: 'NodeMoved'; data: { from: string; path: string } }
  | LeaseEvent;

const touch = (state: NodeState, { etag, at }: Stamp): NodeState => ({
  ...state,
  etag,
  lastModified: at,
  version: state.version + 1,
});

/** Applies one event; undefined is "no such node" (never created, or deleted). */
export function evolveNode(state: NodeState | undefined, event: NodeEvent): NodeState | undefined {
  switch (event.type) {
    case 'DirectoryCreated':
      return {
        kind: 'directory',
        fileId: event.data.fileId,
        parentId: event.data.parentId,
        path: event.data.path,
        metadata: event.data.metadata,
        properties: {},
        contentLength: 0,
        etag: event.data.etag,
        createdAt: event.data.at,
        lastModified: event.data.at,
        lease: initialLeaseState,
        version: (state?.version ?? 0) + 1,
      };
    case 'FileCreated':
      return {
        kind: 'file',
        fileId: event.data.fileId,
        parentId: event.data.parentId,
        path: event.data.path,
        metadata: event.data.metadata,
        properties: event.data.properties,
        contentLength: event.data.contentLength,
        etag: event.data.etag,
        createdAt: event.data.replaced && state ? state.createdAt : event.data.at,
        lastModified: event.data.at,
        // Re-creating a file keeps its lease: the lease is on the file, and the write was gated by it.
        lease: state?.lease ?? initialLeaseState,
        ...(event.data.copy ? { copy: event.data.copy } : {}),
        version: (state?.version ?? 0) + 1,
      };
    case 'DirectoryDeleted':
    case 'FileDeleted':
      return undefined;
  }
  if (!state) throw new Error(`${event.type} on a node that does not exist`);
  switch (event.type) {
    case 'DirectoryMetadataSet':
    case 'FileMetadataSet':
      return { ...touch(state, event.data), metadata: event.data.metadata };
    case 'DirectoryPropertiesSet':
    case 'FileRangeWritten':
    case 'FileRangeCleared':
      return touch(state, event.data);
    case 'FilePropertiesSet':
      return {
        ...touch(state, event.data),
        properties: event.data.properties,
        contentLength: event.data.contentLength,
        copy: undefined,
      };
    case 'NodeRenamed':
      return {
        ...touch(state, event.data),
        path: event.data.path,
        parentId: event.data.parentId,
        metadata: event.data.metadata ?? state.metadata,
      };
    case 'NodeMoved':
      return { ...state, path: event.data.path, version: state.version + 1 };
    default:
      // Lease events change neither ETag nor Last-Modified (Lease File does not modify them).
      return { ...state, lease: evolveLease(state.lease, event), version: state.version + 1 };
  }
}
