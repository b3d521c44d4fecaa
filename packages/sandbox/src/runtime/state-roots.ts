import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readWatchdogRecord } from '../watchdog-record.js';
import type { RuntimeDriver } from './driver.js';

/**
 * Drivers for the runtime roots a state directory already has (`<stateDir>/runtime/<name>`),
 * without probing anything: for looking at and removing what a sandbox left, with no sandbox open.
 * The binary is the one the last sandbox recorded, else `$III_RUNTIME` or PATH's of that name.
 */
export async function driversOfStateDir(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RuntimeDriver[]> {
  const dir = resolve(stateDir);
  const entries = await readdir(join(dir, 'runtime'), { withFileTypes: true }).catch(() => []);
  if (!entries.some((e) => e.isDirectory())) return [];
  // Loaded only when there is a root to look at: the drivers bring the runtime detection and the
  // runtime CLI wrapper, which a command that finds no sandbox state (`iii worker list` of a
  // project whose workers never ran) need not load.
  const { createDriver, runtimeName, which } = await import('./detect.js');
  const record = await readWatchdogRecord(dir);
  const drivers: RuntimeDriver[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const name = e.name;
    const preferred = env.III_RUNTIME && runtimeName(env.III_RUNTIME) === name ? env.III_RUNTIME : name;
    const binary = record?.runtime === name ? record.binary : await which(preferred, env);
    if (binary)
      drivers.push(createDriver(name, binary, dir, record?.runtime === name ? record.canKeep : undefined));
  }
  return drivers;
}
