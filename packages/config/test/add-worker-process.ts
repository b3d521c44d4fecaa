// Run as its own process by the concurrency tests: adds one worker entry and pins it, under the lock.
import { editConfig, pinWorker } from '../src/index.js';

const [configPath, name, delayMs] = process.argv.slice(2) as [string, string, string?];
await editConfig(
  configPath,
  async ({ doc, lock }) => {
    process.stdout.write('locked\n');
    if (delayMs) await new Promise((r) => setTimeout(r, Number(delayMs)));
    const digest = `sha256:${Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64)}`;
    return {
      doc: doc.worker(name)
        ? doc
        : doc.withWorker({ name, image: `localhost:5000/${name}:1`, config: { N: name } }),
      lock: pinWorker(lock, name, { image: `localhost:5000/${name}:1`, digest, platform: 'linux/amd64' }),
      result: undefined,
    };
  },
  { create: true },
);
