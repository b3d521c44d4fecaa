import { execute } from '@oclif/core';
import { TOP_LEVEL_FLAGS } from './top-level-flags.js';

/**
 * The `iii` process: bare `iii` starts the engine, like `docker compose up` for its project, and so
 * does `iii` followed by flags (`iii --port 0`, `iii --no-watch`): they are the flags of `iii start`.
 * Every other invocation (a command, --help, --version) goes to oclif unchanged. `dir` is where
 * oclif starts looking for the CLI's package.json.
 */
export async function main(argv: string[], dir: string): Promise<void> {
  const first = argv[0];
  const starts = first === undefined || (first.startsWith('-') && !TOP_LEVEL_FLAGS.has(first));
  await execute({ dir, args: starts ? ['start', ...argv] : argv });
}
