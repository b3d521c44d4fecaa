export { detectCompression } from './compression.js';
export {
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
export { type PullAndUnpackOptions, type PullAndUnpackResult, pullAndUnpack } from './pull-and-unpack.js';
export { type UnpackOptions, type UnpackResult, unpack } from './unpack.js';
export { rootfsPath, type UnpackImageResult, unpackImage } from './unpack-image.js';
export { Unpacker } from './unpacker.js';
export type { UnpackWarning } from './warning.js';
