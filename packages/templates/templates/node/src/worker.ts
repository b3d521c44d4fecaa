import { Logger, registerWorker } from '@iii/sdk';

interface HelloInput {
  name?: string;
}

// `iii` starts the worker with III_URL (the engine's address) and III_WORKER_NAME set; without
// them (`npm start`) the SDK connects to ws://localhost:49134 and the worker uses its own name.
const iii = registerWorker(undefined, { workerName: process.env.III_WORKER_NAME ?? '{{name}}' });
// Lines logged through the engine land in the worker's log (`iii worker logs {{name}}`).
const logger = new Logger(iii);

iii.registerFunction('{{functionId}}', async (input: HelloInput | undefined) => {
  // GREETING comes from the worker's `config:` in config.yaml (the image's ENV is the default).
  const greeting = process.env.GREETING ?? 'Hello';
  const who = input?.name ?? 'world';
  logger.info(`saying hello to ${who}`);
  return { message: `${greeting}, ${who}!` };
});

logger.info('{{name}} is ready: {{functionId}}');

// As PID 1 in its sandbox the worker gets no default SIGTERM handling: stop cleanly on request.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void iii.shutdown().finally(() => process.exit(0));
  });
}
