import { basename } from 'node:path';
import { listProcesses, type ProcessEntry } from '../process-table.js';
import type { RuntimeDriver } from './driver.js';

/** A `<runtime> --root <root> run|create ... <id>` process of one runtime root. */
export interface RuntimeProcess extends ProcessEntry {
  /** The container it runs or creates. */
  id: string;
}

/**
 * The runtime processes (`run`, `create`) working in this driver's root, found by their argv. They
 * are how a container still being created when its owner died is found: killing them stops the
 * creation, so no container appears after the leftovers were removed.
 */
export async function findRuntimeProcesses(driver: RuntimeDriver): Promise<RuntimeProcess[]> {
  const out: RuntimeProcess[] = [];
  for (const p of await listProcesses()) {
    if (p.pid === process.pid || p.argv.length < 4) continue;
    const exe = p.argv[0]!;
    if (exe !== driver.binary && basename(exe) !== driver.name) continue;
    const at = p.argv.indexOf('--root');
    if (at < 0 || p.argv[at + 1] !== driver.root) continue;
    const verb = p.argv[at + 2];
    if (verb !== 'run' && verb !== 'create') continue;
    out.push({ ...p, id: p.argv[p.argv.length - 1]! });
  }
  return out;
}
