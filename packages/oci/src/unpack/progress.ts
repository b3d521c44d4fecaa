/** Reported while a layer is read: bytes of the blob as stored (compressed), like `docker pull`. */
export interface UnpackProgress {
  /** Position of the layer in the image, from 0. */
  readonly index: number;
  /** Number of layers in the image. */
  readonly count: number;
  readonly digest: string;
  /** Compressed bytes read so far. */
  readonly bytes: number;
  /** Compressed size from the descriptor. */
  readonly total: number;
  /** True once, when the layer has been applied completely. */
  readonly done: boolean;
}
