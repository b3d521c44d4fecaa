import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findContainerCgroup } from './cgroup.js';
import type { HostLimits } from './spec.js';

/** Parses RLIMIT_NOFILE from /proc/self/limits text ("unlimited" is Infinity). */
export function parseNofile(text: string): HostLimits['nofile'] {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  const num = (v: string | undefined) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  const soft = num(m[1]);
  const hard = num(m[2]);
  if (Number.isNaN(soft) || Number.isNaN(hard)) return undefined;
  return { soft, hard };
}

/** Whether our cgroup has swap accounting (v1 `memory.memsw.*`, v2 `memory.swap.max`). */
async function swapAccounting(): Promise<boolean> {
  const cg = await findContainerCgroup({ id: '' }).catch(() => undefined);
  if (!cg?.memoryDir) return false;
  const file = cg.version === 1 ? 'memory.memsw.limit_in_bytes' : 'memory.swap.max';
  return access(join(cg.memoryDir, file)).then(
    () => true,
    () => false,
  );
}

/** The limits of this process that the runtime spec must stay within. */
export async function readHostLimits(): Promise<HostLimits> {
  const nofile = parseNofile(await readFile('/proc/self/limits', 'utf8').catch(() => ''));
  return { ...(nofile ? { nofile } : {}), swapLimit: await swapAccounting() };
}
