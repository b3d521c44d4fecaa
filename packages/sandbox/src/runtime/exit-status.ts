import { constants } from 'node:os';

/** Shell-style exit code: the code itself, or 128 + signal number when a process died of a signal. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal !== null) return 128 + (constants.signals[signal] ?? 0);
  return 255;
}
