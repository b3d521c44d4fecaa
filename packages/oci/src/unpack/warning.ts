/** Something unpacking did that a careful user may want to know about; it does not stop the unpack. */
export interface UnpackWarning {
  readonly code: 'device-node';
  readonly entry: string;
  readonly message: string;
}
