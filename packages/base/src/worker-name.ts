const NAME_RE = /^[A-Za-z0-9._-]+$/;

/** Longest worker name: it names a directory and, hashed, a container. */
export const MAX_WORKER_NAME_LENGTH = 128;

/**
 * The worker-name rule, the one config.yaml, the sandbox and `iii init` apply: why `name` cannot
 * name a worker (and a directory), or undefined when it can.
 */
export function workerNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_WORKER_NAME_LENGTH) return `it is longer than ${MAX_WORKER_NAME_LENGTH} characters`;
  if (!NAME_RE.test(name)) return 'only letters, digits, ".", "_" and "-" are allowed';
  if (name.startsWith('.')) return 'it must not start with "."';
  if (name.includes('..')) return 'it must not contain ".."';
  return undefined;
}
