import type { LockFile } from '@iii/config';

/** Manifest and index digests pinned in iii.lock: the images the cache must keep. */
export function lockedDigests(lock: LockFile): Set<string> {
  const out = new Set<string>();
  for (const pin of Object.values(lock.workers)) {
    out.add(pin.digest);
    if (pin.index) out.add(pin.index);
  }
  return out;
}
