import { renderError } from './render-error.js';

/** What happened to one of several names: its result, or the error that stopped it. */
export type NameOutcome<T> =
  | ({ name: string; error: null } & T)
  | { name: string; error: { code: string; message: string } };

/**
 * Acts on several workers at once, like `docker stop a b`: a name that fails does not stop the
 * others. Each success prints `done(result)` and each failure one `Error: <what>` line, on stderr as
 * each finishes; the exit code is 1 when any failed. The outcomes are in the order of `names`.
 */
export async function eachName<T extends object>(
  names: readonly string[],
  act: (name: string) => Promise<T>,
  done: (result: T) => string,
): Promise<NameOutcome<T>[]> {
  return Promise.all(
    names.map(async (name): Promise<NameOutcome<T>> => {
      try {
        const result = await act(name);
        process.stderr.write(`${done(result)}\n`);
        return { name, error: null, ...result };
      } catch (err) {
        const r = renderError(err, { debug: false });
        process.stderr.write(`Error: ${r.message}\n`);
        process.exitCode = 1;
        return { name, error: { code: r.code, message: r.message } };
      }
    }),
  );
}
