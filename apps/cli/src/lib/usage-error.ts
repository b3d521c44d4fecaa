import { Errors } from '@oclif/core';

/** A bad flag value found after parsing is still a usage error: exit 2, keeping the parser's hint. */
export function usageError(err: unknown): Error {
  const e = new Errors.CLIError((err as Error).message, { exit: 2 });
  return Object.assign(e, { hint: (err as { hint?: unknown }).hint });
}
