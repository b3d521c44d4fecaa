import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Entries a walk reads before it lets the event loop run (timers, signals such as Ctrl-C). */
const entriesPerTurn = 2000;

/**
 * Bytes of a tree as `du --apparent-size --one-file-system` counts them: every file, directory and
 * symlink once (hard links once per walk), without entering another file system (a mounted overlay).
 *
 * The walk makes synchronous calls and lets the event loop run every 2,000 entries: a walk of awaited
 * calls waits on the thread pool for each, ~10x slower (an image of 20,000 files: ~1 s against 90 ms),
 * and `iii system df` walks several trees.
 */
export class TreeMeter {
  private readonly seen = new Set<string>();
  private readonly dev: number | undefined;
  private entries = 0;

  constructor(dev?: number) {
    this.dev = dev;
  }

  async size(path: string): Promise<number> {
    let total = 0;
    const pending = [path];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      this.entries += 1;
      if (this.entries % entriesPerTurn === 0) await nextTurn();
      const st = statOf(next);
      if (!st) continue;
      // Only what can be reached twice needs remembering: a directory (a bind mount) or a hard link.
      if (st.isDirectory() || st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (this.seen.has(key)) continue;
        this.seen.add(key);
      }
      total += st.size;
      if (!st.isDirectory() || (this.dev !== undefined && st.dev !== this.dev)) continue;
      for (const name of namesIn(next)) pending.push(join(next, name));
    }
    return total;
  }
}

/** `lstat`, or undefined for what cannot be looked at (gone, unreadable): it counts for nothing. */
function statOf(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
