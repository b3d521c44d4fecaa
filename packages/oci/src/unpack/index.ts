export { abandonedUnpacks } from './abandoned.js';
export { detectCompression } from './compression.js';
export {
  DiffIdMismatchError,
  LayerDigestMismatchError,
  LayerFormatError,
  RootfsWriteError,
  TargetExistsError,
  UnpackError,
  UnpackLimitError,
  type UnpackLimitName,
  UnsafeEntryError,
  type UnsafeEntryReason,
  UnsupportedEntryError,
} from './errors.js';
export type { UnpackImage, UnpackLayer } from './layer-source.js';
export { defaultUnpackLimits, type UnpackLimits } from './limits.js';
export type { ApplyOwners, OwnerRecord } from './owners.js';
export type { UnpackProgress } from './progress.js';
export {
  type PullAndUnpackOptions,
  type PullAndUnpackResult,
  type PullAndUnpackSnapshotsOptions,
  type PullAndUnpackSnapshotsResult,
  pullAndUnpack,
  pullAndUnpackSnapshots,
} from './pull-and-unpack.js';
export {
  chainIds,
  isSnapshotCommitted,
  listSnapshots,
  removeSnapshot,
  type Snapshot,
  type SnapshotFormat,
  SnapshotFormatError,
  type SnapshotLayer,
  type SnapshotRecord,
  snapshotDir,
  snapshotFormat,
  snapshotLayersOf,
  type UnpackSnapshotsOptions,
  type UnpackSnapshotsResult,
  unpackSnapshots,
} from './snapshots.js';
export { type UnpackOptions, type UnpackResult, unpack } from './unpack.js';
export { rootfsPath, type UnpackImageResult, unpackImage } from './unpack-image.js';
export { Unpacker } from './unpacker.js';
export type { UnpackWarning } from './warning.js';
