import {
  DEFAULT_RESTART_POLICY,
  flattenConfigWithOrigins,
  type LockFile,
  parseCpus,
  parseMemory,
  type RestartPolicy,
  type WorkerEntry,
} from '@iii/config';
import { ManagerError, WorkerNotLockedError } from './errors.js';

/** A config.yaml entry resolved for running: locked digest, env ready, resources as numbers. */
export interface WorkerPlan {
  name: string;
  image: string;
  digest: string;
  platform: string;
  /** `config:` interpolated from the environment of `iii` and flattened into variables. */
  config: Record<string, string>;
  /** The keys of `config` filled from `${VAR}`, as written: what is shown instead of the value. */
  written: Record<string, string>;
  /** Values taken from the environment, to scrub from messages about this worker. */
  substituted: string[];
  resources: { cpus?: number; memory?: number };
  restart: RestartPolicy;
  network: 'host' | 'none';
  /** Whether an init (tini) runs as PID 1 of the sandbox, with the worker below it. */
  init: boolean;
}

/** config.yaml names another image for the worker than the one iii.lock pins. */
export class LockMismatchError extends ManagerError {
  override readonly name = 'LockMismatchError';
  constructor(worker: string, configImage: string, lockedImage: string) {
    super(
      'LOCK_MISMATCH',
      `worker "${worker}" uses ${configImage} in config.yaml but iii.lock pins ${lockedImage}`,
      `Pin the new image with \`iii worker update ${worker}\`.`,
    );
  }
}

/**
 * Resolves one entry against iii.lock and the environment. Throws (per worker, never for the whole
 * config) when the entry is not locked or its `config:` names an unset variable without default.
 */
export function planWorker(
  entry: WorkerEntry,
  lock: LockFile,
  env: Record<string, string | undefined>,
): WorkerPlan {
  const locked = lock.workers[entry.name];
  if (!locked) throw new WorkerNotLockedError(entry.name);
  if (locked.image !== entry.image) throw new LockMismatchError(entry.name, entry.image, locked.image);
  // The management token of a remote engine may sit in the owner's shell; no worker ever gets it.
  const { III_TOKEN: _token, ...workerEnv } = env;
  const flat = flattenConfigWithOrigins(entry.config ?? {}, { env: workerEnv, worker: entry.name });
  const resources: WorkerPlan['resources'] = {};
  if (entry.resources?.cpus !== undefined) resources.cpus = parseCpus(entry.resources.cpus);
  if (entry.resources?.memory !== undefined) resources.memory = parseMemory(entry.resources.memory);
  return {
    name: entry.name,
    image: entry.image,
    digest: locked.digest,
    platform: locked.platform,
    config: flat.values,
    written: flat.written,
    substituted: flat.substituted,
    resources,
    restart: entry.restart ?? DEFAULT_RESTART_POLICY,
    network: entry.network ?? 'host',
    init: entry.init ?? true,
  };
}
