import { OciError } from '../errors.js';

/** Base of the errors raised while unpacking layers (stable `code`, user `hint`). */
export class UnpackError extends OciError {}

/** Why an entry was refused: every reason is a way to write outside the rootfs or to smuggle a link. */
export type UnsafeEntryReason =
  | 'absolute-path'
  | 'parent-traversal'
  | 'symlink-traversal'
  | 'not-a-directory'
  | 'hardlink-outside'
  | 'hardlink-missing'
  | 'hardlink-to-directory'
  | 'root-type'
  | 'invalid-whiteout';

const unsafeMessages: Record<UnsafeEntryReason, string> = {
  'absolute-path': 'has an absolute path',
  'parent-traversal': "contains a '..' path component",
  'symlink-traversal': 'would be written through a symbolic link',
  'not-a-directory': 'has a parent that is not a directory',
  'hardlink-outside': 'is a hard link to a path outside the image',
  'hardlink-missing': 'is a hard link to a file that does not exist in the image',
  'hardlink-to-directory': 'is a hard link to a directory',
  'root-type': 'would replace the root directory with a non-directory',
  'invalid-whiteout': 'is a malformed whiteout',
};

/** A tar entry that would land outside the rootfs or otherwise break out of it. */
export class UnsafeEntryError extends UnpackError {
  readonly reason: UnsafeEntryReason;
  readonly entry: string;
  readonly layer: string | undefined;

  constructor(reason: UnsafeEntryReason, entry: string, layer?: string, detail?: string) {
    super(
      'UNPACK_UNSAFE_ENTRY',
      `Refusing layer ${layer ?? '(unknown)'}: entry '${entry}' ${unsafeMessages[reason]}${detail ? ` (${detail})` : ''}`,
      'The image contains a malicious or malformed layer; rebuild it with a standard tool (docker, buildah) or do not use it.',
    );
    this.reason = reason;
    this.entry = entry;
    this.layer = layer;
  }
}

/** A tar entry type we will not create (device nodes without root, unknown or sparse entries). */
export class UnsupportedEntryError extends UnpackError {
  readonly entry: string;
  readonly entryType: string;

  constructor(entry: string, entryType: string, layer: string | undefined, hint: string) {
    super(
      'UNPACK_UNSUPPORTED_ENTRY',
      `Cannot unpack layer ${layer ?? '(unknown)'}: entry '${entry}' is a ${entryType}`,
      hint,
    );
    this.entry = entry;
    this.entryType = entryType;
  }
}

/** Which unpack limit an image exceeded. */
export type UnpackLimitName = 'maxEntries' | 'maxFileSize' | 'maxTotalSize';

/** The image is bigger than the configured limits allow (also stops decompression bombs). */
export class UnpackLimitError extends UnpackError {
  readonly limit: UnpackLimitName;
  readonly max: number;
  readonly actual: number;

  constructor(limit: UnpackLimitName, max: number, actual: number, entry?: string) {
    const what: Record<UnpackLimitName, string> = {
      maxEntries: `has more than ${max} entries`,
      maxFileSize: `has a file of ${actual} bytes${entry ? ` ('${entry}')` : ''}, over the limit of ${max} bytes`,
      maxTotalSize: `unpacks to more than ${max} bytes`,
    };
    super(
      'UNPACK_LIMIT_EXCEEDED',
      `Image ${what[limit]}`,
      `If you trust this image, raise the unpack limit '${limit}'; otherwise do not use it.`,
    );
    this.limit = limit;
    this.max = max;
    this.actual = actual;
  }
}

/** The layer blob is not a (compressed) tar we can read, or it is corrupt. */
export class LayerFormatError extends UnpackError {
  readonly layer: string | undefined;

  constructor(message: string, layer: string | undefined, options?: { cause?: unknown }) {
    super(
      'UNPACK_BAD_LAYER',
      `Cannot read layer ${layer ?? '(unknown)'}: ${message}`,
      'Layers must be tar archives, uncompressed or compressed with gzip or zstd; pull the image again or rebuild it.',
      options,
    );
    this.layer = layer;
  }
}

/** The bytes read for a layer do not match its descriptor. */
export class LayerDigestMismatchError extends UnpackError {
  readonly expected: string;
  readonly actual: string;

  constructor(expected: string, actual: string, expectedSize: number, actualSize: number) {
    super(
      'UNPACK_DIGEST_MISMATCH',
      `Layer content does not match its descriptor: expected ${expected} (${expectedSize} bytes), got ${actual} (${actualSize} bytes)`,
      'The stored layer is corrupt or was tampered with; remove it from the store and pull the image again.',
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** A layer's uncompressed tar is not the one the image config's `rootfs.diff_ids` names. */
export class DiffIdMismatchError extends UnpackError {
  readonly layer: string;
  readonly expected: string;
  readonly actual: string;

  constructor(layer: string, expected: string, actual: string) {
    super(
      'UNPACK_DIFF_ID_MISMATCH',
      `Layer ${layer} does not match the image config: its uncompressed content is ${actual}, the config names ${expected}`,
      'The image is inconsistent (its config lists other layers than its manifest); rebuild or re-push it.',
    );
    this.layer = layer;
    this.expected = expected;
    this.actual = actual;
  }
}

/** `unpack` never merges into an existing directory. */
export class TargetExistsError extends UnpackError {
  readonly target: string;

  constructor(target: string) {
    super(
      'UNPACK_TARGET_EXISTS',
      `Cannot unpack into ${target}: it already exists`,
      'Remove the directory first or choose another target.',
    );
    this.target = target;
  }
}

/** The file system refused a write (disk full, permissions); the unpack is rolled back. */
export class RootfsWriteError extends UnpackError {
  constructor(entry: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'UNPACK_WRITE_FAILED',
      `Cannot write '${entry}' while unpacking: ${reason}`,
      'Check free disk space and the permissions of the rootfs cache directory.',
      { cause },
    );
  }
}
