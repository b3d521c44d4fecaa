import { delimiter } from 'node:path';
import which from 'which';

/**
 * The path of `name` on `PATH`, like `command -v`, or undefined: `which` of npm, with empty PATH
 * entries skipped rather than read as the current directory, and no PATH meaning nothing found.
 */
export async function findExecutable(name: string, path: string | undefined): Promise<string | undefined> {
  const dirs = (path ?? '').split(delimiter).filter(Boolean).join(delimiter);
  if (dirs === '') return undefined;
  return (await which(name, { path: dirs, nothrow: true })) ?? undefined;
}
