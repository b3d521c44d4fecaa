import { Errors } from '@oclif/core';
import { stripAnsi } from './strip-ansi.js';

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
  exitStatus?: unknown;
}

/**
 * Usage errors (bad flags, missing arguments) exit 2; an error may name its own status (`exec` of a
 * command that is not there exits 127, as a shell does); everything else exits 1.
 */
function exitCodeOf(err: ErrorLike): number {
  if (err instanceof Errors.CLIError && typeof err.oclif?.exit === 'number') return err.oclif.exit;
  if (typeof err.exitStatus === 'number') return err.exitStatus;
  return 1;
}

/**
 * Turns any thrown value into one line of what went wrong plus one line of what to do.
 * Package errors carry a stable `code` and a `hint`; anything else is shown by its message.
 * A usage error keeps its whole reason (oclif spreads it over several lines) and shows the
 * command's usage line, when the caller knows it, as what to do.
 */
export function renderError(
  value: unknown,
  opts: { debug: boolean; usage?: string | undefined },
): RenderedError {
  const err: ErrorLike =
    typeof value === 'object' && value !== null ? (value as ErrorLike) : { message: String(value) };
  const exitCode = exitCodeOf(err);
  const text0 = String(err.message ?? value);
  const firstLine = text0
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim();
  const message = (exitCode === 2 ? usageReason(err, text0) : firstLine) || 'unknown error';
  let hint = typeof err.hint === 'string' ? err.hint : undefined;
  if (!hint && exitCode === 2)
    hint = opts.usage ? `Usage: ${opts.usage}` : 'See the command help with --help.';
  if (!hint && !opts.debug) hint = 'Run again with --debug for details.';
  const code = typeof err.code === 'string' ? err.code : exitCode === 2 ? 'USAGE' : 'ERROR';
  let text = `Error: ${message}\n`;
  if (hint) text += `${hint}\n`;
  if (opts.debug && typeof err.stack === 'string') text += `${err.stack}\n`;
  return { code, message, hint, exitCode, text };
}

/**
 * oclif's parse errors in one line: a header such as `Missing 1 required arg:` or `Parsing --tail`
 * is followed by the detail on the next lines, and a closing "See more help with --help".
 */
function usageReason(err: ErrorLike, message: string): string {
  const lines = stripAnsi(message)
    .split('\n')
    .map((l) => l.trim())
    .filter(
      (l) => l !== '' && l !== 'See more help with --help' && !/^The following errors? occurred:$/.test(l),
    );
  const required = (err as { args?: unknown }).args;
  if (/^Missing \d+ required args?:?$/.test(lines[0] ?? '') && Array.isArray(required)) {
    const names = required.map((a: { name?: string }) => String(a.name ?? '').toUpperCase()).filter(Boolean);
    return `missing required argument${names.length === 1 ? '' : 's'} ${names.join(', ')}`;
  }
  const parsing = /^Parsing (--\S+)$/.exec(lines[0] ?? '');
  if (parsing) return `invalid value for ${parsing[1]}: ${lines.slice(1).join(' ')}`;
  return lines.join('; ');
}
