/** Bounds that stop hostile or runaway images (decompression bombs, inode exhaustion). */
export interface UnpackLimits {
  /** Tar entries across all layers, whiteouts and directories included. */
  readonly maxEntries: number;
  /** Bytes of a single regular file. */
  readonly maxFileSize: number;
  /** Bytes of regular-file content across all layers (what the rootfs costs on disk, before whiteouts). */
  readonly maxTotalSize: number;
}

const GiB = 1024 ** 3;

/** Generous enough for large language-runtime and ML images, small enough to protect a laptop's disk. */
export const defaultUnpackLimits: UnpackLimits = {
  maxEntries: 1_000_000,
  maxFileSize: 8 * GiB,
  maxTotalSize: 32 * GiB,
};
