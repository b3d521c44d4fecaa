import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Node has no mknod(2) binding, so device nodes and FIFOs come from coreutils' `mknod`/`mkfifo`.
 * They are rare in images, so a process per node costs nothing noticeable. The caller has verified
 * that `path`'s parents are real directories and that `path` itself does not exist.
 */
export async function createSpecialFile(
  path: string,
  type: 'character-device' | 'block-device' | 'fifo',
  mode: number,
  major: number,
  minor: number,
): Promise<void> {
  const octal = mode.toString(8);
  if (type === 'fifo') {
    await run('mkfifo', ['-m', octal, '--', path]);
    return;
  }
  await run('mknod', [
    '-m',
    octal,
    '--',
    path,
    type === 'character-device' ? 'c' : 'b',
    String(major),
    String(minor),
  ]);
}
