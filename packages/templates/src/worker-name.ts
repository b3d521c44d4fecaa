import { InvalidProjectNameError } from './errors.js';

// The same rule config.yaml applies to worker names, so a scaffolded worker can always be added.
const WORKER_NAME = /^[A-Za-z0-9._-]+$/;
const MAX_LENGTH = 128;

/** Throws `InvalidProjectNameError` unless `name` is a valid worker name. */
export function validateWorkerName(name: string): void {
  if (name.length === 0) throw new InvalidProjectNameError(name, 'it is empty');
  if (name.length > MAX_LENGTH) {
    throw new InvalidProjectNameError(name, `it is longer than ${MAX_LENGTH} characters`);
  }
  if (!WORKER_NAME.test(name)) {
    throw new InvalidProjectNameError(name, 'only letters, digits, ".", "_" and "-" are allowed');
  }
  if (name.startsWith('.')) throw new InvalidProjectNameError(name, 'it starts with a dot');
  if (name.includes('..')) throw new InvalidProjectNameError(name, 'it contains ".."');
}

/** An npm package name for the worker: npm wants lower case and no leading "_" or "-". */
export function npmPackageName(name: string): string {
  const lower = name.toLowerCase();
  return /^[a-z0-9]/.test(lower) ? lower : `worker-${lower.replace(/^[._-]+/, '')}`;
}

/** A Cargo package name for the worker: letters, digits, "-" and "_", starting with a letter. */
export function cratePackageName(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  return /^[a-z]/.test(cleaned) ? cleaned : `worker-${cleaned.replace(/^[^a-z0-9]+/, '')}`;
}
