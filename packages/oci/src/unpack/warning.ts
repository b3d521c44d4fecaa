/** Something unpacking did that a careful user may want to know about; it does not stop the unpack. */
export interface UnpackWarning {
  /** `device-node`: created one (as root); `device-node-skipped`: not created (not root). */
  readonly code: 'device-node' | 'device-node-skipped';
  readonly entry: string;
  readonly message: string;
}
