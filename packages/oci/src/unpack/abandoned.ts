import fs from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from '@iii/base';

// `.<digest or chain ID hex>.unpack-<pid>-<random>` (and `-layers`, its staging directory), or
// `.<chain ID hex>.remove-<pid>-<random>`: what an unpack or a snapshot removal works in.
const workDirName = /^\.[a-f0-9]{64}\.(?:unpack|remove)-(\d+)-/;

/**
 * The directories in `dir` (a rootfs cache or a snapshot directory) that an unpack or a snapshot
 * removal worked in and that its process, no longer alive, left behind (it was killed, or the
 * machine went down). `prefix`, when given, keeps only names starting with it. Absolute paths.
 */
export async function abandonedUnpacks(dir: string, prefix = '.'): Promise<string[]> {
  const out: string[] = [];
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const match = name.startsWith(prefix) ? workDirName.exec(name) : null;
    if (match && !isProcessAlive(Number(match[1]))) out.push(path.join(dir, name));
  }
  return out;
}
