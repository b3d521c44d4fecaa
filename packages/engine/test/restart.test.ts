import { type Engine, startEngine } from '@iii/engine';
import { registerWorker, type WorkerClient } from '@iii/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess, waitForFunctions } from './helpers/worker-process.js';

describe('engine restart', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it('iii-sdk and @iii/sdk workers reconnect to a restarted engine on the same port and serve again', async () => {
    let engine: Engine = await startEngine({ port: 0 });
    const port = engine.port;
    cleanup.push(() => engine.close());
    const workers: WorkerProcess[] = [
      spawnWorker('official', { address: engine.address, name: 'official-worker', prefix: 'official' }),
      spawnWorker('ours', { address: engine.address, name: 'our-worker', prefix: 'ours' }),
    ];
    for (const w of workers) cleanup.push(() => w.kill());
    const caller: WorkerClient = registerWorker(engine.address, { announce: false });
    cleanup.push(() => caller.shutdown());
    await waitForFunctions(caller, ['official::echo', 'ours::echo']);

    await engine.close();
    engine = await startEngine({ port });
    expect(engine.port).toBe(port);

    // Same processes, same caller: everything comes back through reconnect and replay alone.
    await waitForFunctions(caller, ['official::echo', 'ours::echo']);
    await expect(
      caller.trigger({ function_id: 'official::echo', payload: { after: 'restart' } }),
    ).resolves.toMatchObject({
      by: 'iii-sdk',
      echoed: { after: 'restart' },
    });
    await expect(
      caller.trigger({ function_id: 'ours::echo', payload: { after: 'restart' } }),
    ).resolves.toMatchObject({
      by: '@iii/sdk',
      echoed: { after: 'restart' },
    });
    const { workers: listed } = await caller.trigger<unknown, { workers: Array<{ name: string }> }>({
      function_id: 'engine::workers::list',
      payload: {},
    });
    expect(listed.map((w) => w.name).sort()).toEqual(['official-worker', 'our-worker']);
  });
});
