/**
 * What WebHDFS answers about paths: FileStatus, ContentSummary, FileChecksum.
 */

/** WebHDFS FileStatus. */
export interface HdfsFileStatus {
  /** The name relative to the listed directory (empty for GETFILESTATUS). */
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  /** Milliseconds since the epoch. */
  modificationTime: number;
  accessTime: number;
  owner: string;
  group: string;
  /** Octal, e.g. `755`. */
  permission: string;
  replication: number;
  blockSize: number;
  childrenNum?: number;
  fileId?: number;
}

export interface HdfsContentSummary {
  directoryCount: number;
  fileCount: number;
  /** Bytes of data (before replication). */
  length: number;
  quota: number;
  spaceConsumed: number;
  spaceQuota: number;
}

export interface HdfsFileChecksum {
  algorithm: string;
  /** Hex. */
  bytes: string;
  length: number;
}
