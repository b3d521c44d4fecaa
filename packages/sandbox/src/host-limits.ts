import { readFile } from 'node:fs/promises';
import type { HostLimits } from './spec.js';

/** Reads this process's RLIMIT_NOFILE from /proc/self/limits ("unlimited" is Infinity). */
export async function readHostLimits(text?: string): Promise<HostLimits> {
  const src = text ?? (await readFile('/proc/self/limits', 'utf8').catch(() => ''));
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(src);
  if (!m) return {};
  const num = (v: string | undefined) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  const soft = num(m[1]);
  const hard = num(m[2]);
  if (Number.isNaN(soft) || Number.isNaN(hard)) return {};
  return { nofile: { soft, hard } };
}
