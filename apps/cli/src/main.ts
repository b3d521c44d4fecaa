import { execute } from '@oclif/core';

/** What oclif answers itself at the top level; every other leading flag is one of `iii start`'s. */
const TOP_LEVEL_FLAGS = new Set(['--help', '-h', '--version', '-v']);

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
