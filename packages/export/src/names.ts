import { NameCollisionError, UnmappableNameError } from './errors.js';

/** The name of the engine's Deployment, Service and Compose service. */
export const ENGINE_NAME = 'iii-engine';

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The DNS-1123 label a worker's objects are named by: lower case, with "_" and "." as "-". Worker
 * names allow more (upper case, 128 characters, a leading "-"): those that cannot be mapped fail.
 */
export function objectName(worker: string): string {
  const name = worker.toLowerCase().replace(/[._]/g, '-');
  if (name.length > 63) throw new UnmappableNameError(worker, `"${name}" is longer than 63 characters`);
  if (!LABEL_RE.test(name)) {
    throw new UnmappableNameError(worker, `"${name}" must start and end with a letter or digit`);
  }
  if (name === ENGINE_NAME) throw new UnmappableNameError(worker, `"${ENGINE_NAME}" names the engine`);
  return name;
}

/** Object names for all workers, failing on the first two that map to the same name. */
export function objectNames(workers: readonly string[]): Map<string, string> {
  const byName = new Map<string, string>();
  const names = new Map<string, string>();
  for (const worker of workers) {
    const name = objectName(worker);
    const other = byName.get(name);
    if (other !== undefined) throw new NameCollisionError(name, [other, worker]);
    byName.set(name, worker);
    names.set(worker, name);
  }
  return names;
}
