/**
 * Polls `probe` until it gives a value (not undefined or false), and fails with the last error the
 * probe threw once `ms` have passed. The bound only stops a test that would hang; it is not a timing
 * assertion, so it is generous.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  ms = 90_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
