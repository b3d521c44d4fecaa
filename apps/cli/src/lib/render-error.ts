import { Errors } from '@oclif/core';

export interface RenderedError {
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
  text: string;
}

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  hint?: unknown;
  stack?: unknown;
  oclif?: { exit?: number };
}

/** Usage errors (bad flags, missing arguments) exit 2; everything else exits 1. */
function exitCodeOf(err: ErrorLike): number {
  if (err instanceof Errors.CLIError && typeof err.oclif?.exit === 'number') return err.oclif.exit;
  return 1;
}

/**
 * Turns any thrown value into one line of what went wrong plus one line of what to do.
 * Package errors carry a stable `code` and a `hint`; anything else is shown by its message.
 */
export function renderError(value: unknown, opts: { debug: boolean }): RenderedError {
  const err: ErrorLike =
    typeof value === 'object' && value !== null ? (value as ErrorLike) : { message: String(value) };
  const firstLine = String(err.message ?? value)
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim();
  const message = firstLine ?? 'unknown error';
  const exitCode = exitCodeOf(err);
  let hint = typeof err.hint === 'string' ? err.hint : undefined;
  if (!hint && exitCode === 2) hint = 'See the command help with --help.';
  if (!hint && !opts.debug) hint = 'Run again with --debug for details.';
  const code = typeof err.code === 'string' ? err.code : exitCode === 2 ? 'USAGE' : 'ERROR';
  let text = `Error: ${message}\n`;
  if (hint) text += `${hint}\n`;
  if (opts.debug && typeof err.stack === 'string') text += `${err.stack}\n`;
  return { code, message, hint, exitCode, text };
}
