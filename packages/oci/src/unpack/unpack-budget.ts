import { UnpackLimitError } from './errors.js';
import type { UnpackLimits } from './limits.js';

const ENTRIES = 0;
const BYTES = 1;

/**
 * The limits of one unpack, counted across all its layers while they are unpacked at the same time
 * (also from other threads: the counters live in shared memory and are updated atomically).
 */
export class UnpackBudget {
  readonly limits: UnpackLimits;
  /** Pass to another thread to count against the same budget there. */
  readonly shared: SharedArrayBuffer;
  private readonly counters: BigInt64Array;

  constructor(limits: UnpackLimits, shared?: SharedArrayBuffer) {
    this.limits = limits;
    this.shared = shared ?? new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT);
    this.counters = new BigInt64Array(this.shared);
  }

  get entries(): number {
    return Number(Atomics.load(this.counters, ENTRIES));
  }

  get bytes(): number {
    return Number(Atomics.load(this.counters, BYTES));
  }

  /** Counts one tar entry; throws once there are more than `maxEntries`. */
  chargeEntry(): void {
    const count = Number(Atomics.add(this.counters, ENTRIES, 1n)) + 1;
    if (count > this.limits.maxEntries)
      throw new UnpackLimitError('maxEntries', this.limits.maxEntries, count);
  }

  /** Counts a regular file of `size` bytes before any of it is written. */
  chargeFile(size: number, name: string): void {
    const { maxFileSize, maxTotalSize } = this.limits;
    if (size > maxFileSize) throw new UnpackLimitError('maxFileSize', maxFileSize, size, name);
    const total = Number(Atomics.add(this.counters, BYTES, BigInt(size))) + size;
    if (total > maxTotalSize) throw new UnpackLimitError('maxTotalSize', maxTotalSize, total);
  }
}
