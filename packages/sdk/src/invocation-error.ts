import type { ErrorBody } from './protocol/frames.js';

/** The fields of an {@link InvocationError}, as an error body of the protocol carries them. */
export interface InvocationErrorInit {
  code: string;
  message: string;
  function_id?: string;
  stacktrace?: string;
}

/**
 * A function invocation failed: the handler threw (`invocation_failed`), the function is unknown
 * (`function_not_found`), its worker went away (`invocation_stopped`) or the caller gave up (`TIMEOUT`).
 * The message is `"<code>: <message>"`, as in the official SDK, so logs stay readable.
 */
export class InvocationError extends Error {
  override readonly name = 'InvocationError';
  readonly code: string;
  readonly function_id: string | undefined;
  readonly stacktrace: string | undefined;

  constructor(init: InvocationErrorInit) {
    super(`${init.code}: ${init.message}`);
    this.code = init.code;
    this.function_id = init.function_id;
    this.stacktrace = init.stacktrace;
  }
}

/** True when `value` is the wire `{code, message, stacktrace?}` error body. */
export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.code === 'string' &&
    typeof v.message === 'string' &&
    (v.stacktrace === undefined || typeof v.stacktrace === 'string')
  );
}
