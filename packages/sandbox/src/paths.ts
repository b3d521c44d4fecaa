import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { workerNameProblem } from '@iii/base';
import { InvalidSandboxNameError } from './errors.js';

/** Throws unless `name` is a worker name (the rule of `@iii/base`): safe as a directory and container name. */
export function assertWorkerName(name: string): void {
  if (workerNameProblem(name) !== undefined) throw new InvalidSandboxNameError(name);
}

/** Where the sandbox keeps one worker's files under the sandbox state directory. */
export interface WorkerPaths {
  dir: string;
  /** OCI bundle: `config.json`; its rootfs is `rootfs` below. */
  bundle: string;
  config: string;
  /** Writable layer (`upper`, `work`) and the mounted root (`merged`). */
  rootfsDir: string;
  rootfs: string;
  hosts: string;
  resolvConf: string;
  /** Pid files of the init and exec'd processes. */
  run: string;
  /** Rotating stdout/stderr logs; read them with `readLogs`. */
  logs: string;
}

/** Where a worker's bundle, config.json, overlay and logs live in the sandbox state directory. */
export function workerPaths(stateDir: string, name: string): WorkerPaths {
  assertWorkerName(name);
  const dir = join(resolve(stateDir), 'workers', name);
  return {
    dir,
    bundle: join(dir, 'bundle'),
    config: join(dir, 'bundle', 'config.json'),
    rootfsDir: join(dir, 'rootfs'),
    rootfs: join(dir, 'rootfs', 'merged'),
    hosts: join(dir, 'etc', 'hosts'),
    resolvConf: join(dir, 'etc', 'resolv.conf'),
    run: join(dir, 'run'),
    logs: join(dir, 'logs'),
  };
}

/**
 * Container ids are global on the host (cgroups), so they carry a hash of the state directory:
 * two iii homes can run workers of the same name side by side.
 */
export function containerId(stateDir: string, name: string): string {
  assertWorkerName(name);
  const h = createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 8);
  return `iii-${h}-${name}`;
}
