/** One worker of a group stop has finished stopping; `remaining` are those still being waited for. */
export interface StopProgress {
  name: string;
  remaining: string[];
  error?: Error;
}

/**
 * Stops every named worker at once (each waits its own grace period, so the group takes as long as
 * the slowest, not the sum) and reports each as it finishes, with those still being waited for.
 * Never rejects: a failure is reported in its progress.
 */
export async function stopInParallel(
  names: readonly string[],
  stop: (name: string) => Promise<unknown>,
  onStopped: (progress: StopProgress) => void,
): Promise<void> {
  const remaining = new Set(names);
  await Promise.all(
    names.map(async (name) => {
      let error: Error | undefined;
      try {
        await stop(name);
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
      }
      remaining.delete(name);
      onStopped({ name, remaining: [...remaining], ...(error ? { error } : {}) });
    }),
  );
}
