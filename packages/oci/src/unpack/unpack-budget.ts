import { UnpackLimitError } from './errors.js';
import type { UnpackLimits } from './limits.js';

/** The limits of one unpack, counted across all its layers while they are unpacked at the same time. */
export class UnpackBudget {
  readonly limits: UnpackLimits;
  private entryCount = 0;
  private byteCount = 0;

  constructor(limits: UnpackLimits) {
    this.limits = limits;
  }

  get entries(): number {
    return this.entryCount;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Counts one tar entry; throws once there are more than `maxEntries`. */
  chargeEntry(): void {
    this.entryCount += 1;
    const { maxEntries } = this.limits;
    if (this.entryCount > maxEntries) throw new UnpackLimitError('maxEntries', maxEntries, this.entryCount);
  }

  /** Counts a regular file of `size` bytes before any of it is written. */
  chargeFile(size: number, name: string): void {
    const { maxFileSize, maxTotalSize } = this.limits;
    if (size > maxFileSize) throw new UnpackLimitError('maxFileSize', maxFileSize, size, name);
    this.byteCount += size;
    if (this.byteCount > maxTotalSize)
      throw new UnpackLimitError('maxTotalSize', maxTotalSize, this.byteCount);
  }
}
