import pLimit from 'p-limit';

/**
 * Runs `fn` over `items` with at most `limit` at a time (p-limit); the first failure aborts the signal
 * given to the others, keeps the queued ones from starting, and is rethrown once all have settled, so
 * no work is left running behind the caller.
 */
export async function boundedParallel<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const controller = new AbortController();
  const inner = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
  const run = pLimit(Math.max(1, limit));
  let failure: { error: unknown } | undefined;
  const results = await Promise.all(
    items.map((item, i) =>
      run(async () => {
        if (failure) return undefined;
        try {
          return await fn(item, i, inner);
        } catch (error) {
          if (!failure) failure = { error };
          controller.abort(error);
          return undefined;
        }
      }),
    ),
  );
  if (failure) throw failure.error;
  return results as R[];
}
