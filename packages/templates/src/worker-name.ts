import { workerNameProblem } from '@iii/base';
import { InvalidProjectNameError } from './errors.js';

/**
 * Throws `InvalidProjectNameError` unless `name` is a valid worker name: the rule config.yaml
 * applies (`@iii/base`), so a scaffolded worker can always be added.
 */
export function validateWorkerName(name: string): void {
  const problem = workerNameProblem(name);
  if (problem !== undefined) throw new InvalidProjectNameError(name, problem);
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
