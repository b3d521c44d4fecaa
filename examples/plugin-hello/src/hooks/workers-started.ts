import type { IiiHook } from '@iii/cli';

/** Runs once `iii` has started the workers of config.yaml. */
const hook: IiiHook<'iii:workers-started'> = async (event) => {
  process.stderr.write(`hello plugin: iii at ${event.address} started ${event.workers.join(', ')}\n`);
};

export default hook;
