import { readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readMounts } from './mountinfo.js';
import { containerId } from './paths.js';

/** How deep below a cgroup mount the runtime puts containers (our cgroup's parent, plus nesting). */
const MAX_DEPTH = 5;

/**
 * Cgroup directories of this state directory's containers, in every mounted hierarchy: those left
 * when a runtime was killed before it could delete them. `keepIds` (containers that run) are skipped.
 */
export async function findLeftoverCgroups(
  stateDir: string,
  keepIds: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const prefix = containerId(stateDir, 'x').slice(0, -1);
  const roots = (await readMounts())
    .filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2')
    .map((m) => m.mountPoint);
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    await Promise.all(
      entries
        .filter((e) => e.isDirectory())
        .map(async (e) => {
          const path = join(dir, e.name);
          if (e.name.startsWith(prefix)) {
            if (!keepIds.has(e.name)) found.push(path);
            return;
          }
          if (depth < MAX_DEPTH) await walk(path, depth + 1);
        }),
    );
  };
  await Promise.all(roots.map((r) => walk(r, 1)));
  return found.sort((a, b) => b.length - a.length);
}

async function pidsIn(dir: string): Promise<number[]> {
  const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((l) => Number.parseInt(l, 10))
    .filter((p) => p > 0);
}

/**
 * Removes leftover cgroups of this state directory (see {@link findLeftoverCgroups}), killing any
 * process still in one first (a worker process the runtime lost track of). Returns those removed.
 */
export async function removeLeftoverCgroups(
  stateDir: string,
  keepIds: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of await findLeftoverCgroups(stateDir, keepIds)) {
    // Nested cgroups first (the list is deepest first); a cgroup with processes cannot be removed.
    for (let attempt = 0; attempt < 20; attempt++) {
      const pids = await pidsIn(dir);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      try {
        await rmdir(dir);
        removed.push(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY') break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  return removed;
}
