import { startEngine } from '@iii/engine';
import { registerWorker } from '@iii/sdk';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, waitForFunctions } from './helpers/worker-process.js';

describe('engine close', () => {
  it('lets in-flight invocations finish before closing connections', async () => {
    const engine = await startEngine({ port: 0 });
    const worker = registerWorker(engine.address, {
      workerName: 'slowpoke',
      reconnectionConfig: { maxRetries: 0 },
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    worker.registerFunction('slowpoke::finish', async () => {
      started = true;
      await gate;
      return 'finished';
    });
    const caller = registerWorker(engine.address, { announce: false, reconnectionConfig: { maxRetries: 0 } });
    try {
      await waitForFunctions(caller, ['slowpoke::finish']);
      const call = caller.trigger({ function_id: 'slowpoke::finish', payload: {} });
      await eventually(() => started);
      let closed = false;
      const closing = engine.close().then(() => {
        closed = true;
      });
      await new Promise((r) => setTimeout(r, 100));
      expect(closed).toBe(false);
      release();
      await expect(call).resolves.toBe('finished');
      await closing;
      await eventually(() => caller.connectionState === 'failed' && worker.connectionState === 'failed');
    } finally {
      await caller.shutdown();
      await worker.shutdown();
    }
  });

  it('closes after drainTimeoutMs even if an invocation never finishes, stopping it for the caller', async () => {
    const engine = await startEngine({ port: 0, drainTimeoutMs: 100 });
    const worker = registerWorker(engine.address, {
      workerName: 'stuck',
      reconnectionConfig: { maxRetries: 0 },
    });
    worker.registerFunction('stuck::forever', () => new Promise(() => {}));
    const caller = registerWorker(engine.address, { announce: false, reconnectionConfig: { maxRetries: 0 } });
    try {
      await waitForFunctions(caller, ['stuck::forever']);
      const call = caller.trigger({ function_id: 'stuck::forever', payload: {} }).catch((e: unknown) => e);
      await eventually(() => engine.listWorkers().some((w) => w.active_invocations === 1));
      await engine.close();
      expect(await call).toMatchObject({ code: 'invocation_stopped' });
    } finally {
      await caller.shutdown();
      await worker.shutdown();
    }
  });

  it('drops a connection that stops answering pings, stopping the calls it was serving', async () => {
    const engine = await startEngine({ port: 0, heartbeatMs: 50 });
    // A peer whose process hangs: the socket stays open but nothing answers, not even pings.
    const frozen = new WebSocket(engine.address, { autoPong: false });
    const frames: Array<{ type: string; invocation_id?: string }> = [];
    frozen.on('message', (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((resolve) => frozen.once('open', resolve));
    frozen.send(JSON.stringify({ type: 'registerfunction', id: 'frozen::fn' }));
    const caller = registerWorker(engine.address, { announce: false });
    try {
      await waitForFunctions(caller, ['frozen::fn']);
      const call = caller.trigger({ function_id: 'frozen::fn', payload: {} }).catch((e: unknown) => e);
      expect(await call).toMatchObject({ code: 'invocation_stopped' });
      expect(frozen.readyState).not.toBe(WebSocket.OPEN);
    } finally {
      frozen.terminate();
      await caller.shutdown();
      await engine.close();
    }
  });
});
