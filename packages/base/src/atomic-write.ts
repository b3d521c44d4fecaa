import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `file` with `content` so readers see either the old or the new file, never a torn one:
 * write a temp file in the same directory, fsync it, rename over the target, fsync the directory.
 * A `mode` given is the file's mode (records that hold secrets: `0o600`); without one the existing
 * file's mode is kept, and a new file gets `0o644`. Temp files are named `.<name>.<pid>.<hex>.tmp`,
 * so a caller can sweep the ones a crash left behind.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let mode = opts.mode ?? 0o644;
  if (opts.mode === undefined) {
    try {
      mode = (await stat(file)).mode & 0o7777;
    } catch {
      // New file: default mode.
    }
  }
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}
