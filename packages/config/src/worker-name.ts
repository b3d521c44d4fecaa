import { InvalidWorkerNameError } from './errors.js';

const NAME_RE = /^[A-Za-z0-9._-]+$/;

/** Why `name` is not a valid worker name, or undefined when it is. */
export function workerNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > 128) return 'it is longer than 128 characters';
  if (!NAME_RE.test(name)) return 'only letters, digits, ".", "_" and "-" are allowed';
  if (name.startsWith('.')) return 'it must not start with "."';
  if (name.includes('..')) return 'it must not contain ".."';
  return undefined;
}

/** Throws {@link InvalidWorkerNameError} unless `name` can name a worker (and a directory). */
export function assertWorkerName(name: string): string {
  const problem = workerNameProblem(name);
  if (problem) throw new InvalidWorkerNameError(name, problem);
  return name;
}
