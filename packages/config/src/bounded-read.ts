import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { FileTooLargeError } from './errors.js';

/**
 * Largest config.yaml and iii.lock iii reads or writes. Hundreds of workers with their config fit in
 * a few hundred KiB; a file of many MiB is a mistake or an attack (parsing YAML takes several times
 * the file's size in memory).
 */
export const MAX_CONFIG_FILE_BYTES = 4 << 20;

/** Largest `/iii/worker.yaml` read from an image: it holds a few lines of resources. */
export const MAX_WORKER_MANIFEST_BYTES = 64 << 10;

export interface BoundedReadOptions {
  /** Largest accepted size in bytes. */
  limit: number;
  /** What to do about a file over the limit, for the error's hint. */
  hint: string;
  /** Refuse to open a symlink (ELOOP), for files inside an untrusted tree. */
  noFollow?: boolean;
  /** How messages name the file (default its path). */
  label?: string;
}

/**
 * Reads a text file of at most `limit` bytes; a bigger one is a {@link FileTooLargeError} naming
 * file, size and limit, found without reading more than `limit + 1` bytes (so `/dev/zero` or a
 * growing file is refused too). A missing file is `undefined`.
 */
export async function readBoundedText(file: string, opts: BoundedReadOptions): Promise<string | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, constants.O_RDONLY | (opts.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = await handle.stat();
    if (st.isFile() && st.size > opts.limit)
      throw new FileTooLargeError(opts.label ?? file, st.size, opts.limit, opts.hint);
    // Sized by the file; grown (up to one byte over the limit) only for what stat cannot size.
    let buf = Buffer.allocUnsafe(st.isFile() ? st.size + 1 : Math.min(opts.limit + 1, 64 << 10));
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > opts.limit) break;
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, opts.limit + 1));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > opts.limit)
      throw new FileTooLargeError(opts.label ?? file, Math.max(st.size, length), opts.limit, opts.hint);
    return buf.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

/** Refuses to write `text` to `file` when it is over `limit` bytes, before anything is written. */
export function assertWritableSize(file: string, text: string, limit: number, hint: string): void {
  const size = Buffer.byteLength(text);
  if (size > limit) throw new FileTooLargeError(file, size, limit, hint, true);
}
