import { execute } from '@oclif/core';

/**
 * The `iii` process: bare `iii` starts the engine, like `docker compose up` for its project; every
 * other invocation (including --help and --version) goes to oclif unchanged. `dir` is where oclif
 * starts looking for the CLI's package.json.
 */
export async function main(argv: string[], dir: string): Promise<void> {
  await execute({ dir, args: argv.length === 0 ? ['start'] : argv });
}
