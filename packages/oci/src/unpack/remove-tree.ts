import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Removes a directory tree we created. An unprivileged user cannot empty a read-only directory
 * (an image may ship one), so on EACCES the directories are made writable first. Symlinks are
 * never followed.
 */
export async function removeTree(dir: string): Promise<void> {
  try {
    await fs.rm(dir, { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
    await makeDirectoriesWritable(dir);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function makeDirectoriesWritable(dir: string): Promise<void> {
  const stat = await fs.lstat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) return;
  await fs.chmod(dir, 0o700);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeDirectoriesWritable(path.join(dir, entry.name));
  }
}
