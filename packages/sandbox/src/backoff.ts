export interface BackoffOptions {
  /** First restart delay. Default 1 s. */
  initialMs?: number;
  /** Longest delay. Default 60 s. */
  maxMs?: number;
  /** A run at least this long resets the delay to `initialMs`. Default 60 s. */
  resetAfterMs?: number;
}

export type SandboxRestartPolicy = 'always' | 'on-failure' | 'never';

/** The delay before restart number `attempt` (0-based since the last reset): doubling, capped. */
export function restartDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 1000;
  const max = options.maxMs ?? 60_000;
  return Math.min(max, initial * 2 ** Math.min(attempt, 52));
}

/** Whether a worker that exited with `exitCode` is restarted under `policy`. */
export function shouldRestart(policy: SandboxRestartPolicy, exitCode: number): boolean {
  if (policy === 'always') return true;
  if (policy === 'on-failure') return exitCode !== 0;
  return false;
}
