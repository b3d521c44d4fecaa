import type { IiiHook } from '@iii/cli';

/** Runs after `iii worker add` wrote a worker to config.yaml. */
const hook: IiiHook<'iii:worker-added'> = async (event) => {
  process.stderr.write(
    `hello plugin: ${event.action} worker ${event.name} (${event.digest.slice(0, 19)}…)\n`,
  );
};

export default hook;
