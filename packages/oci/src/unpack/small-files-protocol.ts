/**
 * What goes between `SmallFiles` and its thread (small-files-thread.ts). The numbers of a batch's
 * files are `fieldCount` per file at `index * fieldCount` (no object per file, and the array goes
 * back and forth without being copied): open flags, mode, uid and gid (-1: keep), mode for fchmod
 * (-1: none), mtime in seconds, and where the content lies in the data buffer.
 */
export const fieldCount = 8;
export const flagsField = 0;
export const modeField = 1;
export const uidField = 2;
export const gidField = 3;
export const chmodField = 4;
export const mtimeField = 5;
export const offsetField = 6;
export const lengthField = 7;

/** A batch of files to write; `data` and `fields.buffer` are transferred, not copied. */
export interface BatchRequest {
  readonly id: number;
  readonly paths: readonly string[];
  readonly fields: Float64Array;
  readonly data: ArrayBuffer;
}

/** The batch done: its buffers come back for reuse. */
export interface BatchReply {
  readonly id: number;
  readonly data: ArrayBuffer;
  readonly fields: Float64Array;
  /** The first file that could not be written; the files after it in the batch were not tried. */
  readonly failure?: { index: number; code?: string; message: string };
}
