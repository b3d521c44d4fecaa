import type { LockFile } from '@iii/config';

/**
 * Manifest and index digests pinned in iii.lock, and the previous pins `iii worker rollback` goes
 * back to: the images the cache must keep.
 */
export function lockedDigests(lock: LockFile): Set<string> {
  const out = new Set<string>();
  for (const pin of Object.values(lock.workers)) {
    out.add(pin.digest);
    if (pin.index) out.add(pin.index);
    if (pin.previous) {
      out.add(pin.previous.digest);
      if (pin.previous.index) out.add(pin.previous.index);
    }
  }
  return out;
}
