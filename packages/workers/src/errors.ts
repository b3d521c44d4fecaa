/** Errors of the worker domain: a stable `code` and a `hint` for the user, rendered by the CLI. */
export class WorkersError extends Error {
  override readonly name: string = 'WorkersError';
  readonly code: string;
  readonly hint: string;

  constructor(code: string, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.hint = hint;
  }
}
