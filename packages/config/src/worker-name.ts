import { workerNameProblem } from '@iii/base';
import { InvalidWorkerNameError } from './errors.js';

/** Why `name` is not a valid worker name, or undefined when it is: the rule of `@iii/base`. */
export { workerNameProblem };

/** Throws {@link InvalidWorkerNameError} unless `name` can name a worker (and a directory). */
export function assertWorkerName(name: string): string {
  const problem = workerNameProblem(name);
  if (problem) throw new InvalidWorkerNameError(name, problem);
  return name;
}
