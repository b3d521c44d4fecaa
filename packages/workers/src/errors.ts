import { IiiError } from '@iii/base';

/** Errors of the worker domain: a stable `code` and a `hint` for the user, rendered by the CLI. */
export class WorkersError extends IiiError {
  override readonly name: string = 'WorkersError';
}
