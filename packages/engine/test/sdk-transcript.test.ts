import type { AddressInfo } from 'node:net';
import { registerWorker } from '@iii/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';

/** A raw `ws` server standing in for the engine: records every frame each connection sends. */
async function recordingServer() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const connections: Array<{ ws: WebSocket; frames: Array<Record<string, unknown>> }> = [];
  wss.on('connection', (ws) => {
    const conn = { ws, frames: [] as Array<Record<string, unknown>> };
    connections.push(conn);
    ws.on('message', (data) => conn.frames.push(JSON.parse(data.toString())));
    const n = connections.length;
    ws.send(
      JSON.stringify({ type: 'workerregistered', worker_id: `worker-${n}`, reattach_token: `token-${n}` }),
    );
  });
  return { wss, connections, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

describe('@iii/sdk wire transcript', () => {
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('sends exactly these frames for connect, register, trigger, result and reconnect', async () => {
    const server = await recordingServer();
    closers.push(() => new Promise<void>((resolve) => server.wss.close(() => resolve())));
    const client = registerWorker(server.url, {
      workerName: 'transcript',
      workerDescription: 'pins the frames',
      reconnectionConfig: { initialDelayMs: 20, jitterFactor: 0 },
    });
    closers.push(() => client.shutdown());

    // Both calls happen before the socket is open: the registration is sent by the connect replay,
    // the call from the queue, in that order.
    client.registerFunction('transcript::double', (data: { n: number }) => data.n * 2, {
      description: 'Doubles n',
      metadata: { team: 'core' },
    });
    const call = client.trigger({ function_id: 'other::fn', payload: { x: 1 } });

    await until(() => server.connections[0]?.frames.length === 3);
    const first = server.connections[0]!;
    const invocationId = first.frames[1]?.invocation_id;
    expect(invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.frames).toEqual([
      {
        type: 'registerfunction',
        id: 'transcript::double',
        description: 'Doubles n',
        metadata: { team: 'core' },
      },
      { type: 'invokefunction', invocation_id: invocationId, function_id: 'other::fn', data: { x: 1 } },
      {
        type: 'invokefunction',
        function_id: 'engine::workers::register',
        data: {
          runtime: 'node',
          version: '0.0.0',
          name: 'transcript',
          description: 'pins the frames',
          os: expect.any(String),
          pid: process.pid,
          isolation: null,
          telemetry: { language: 'typescript', framework: '@iii/sdk' },
        },
        action: { type: 'void' },
      },
    ]);

    // The engine answers the call: the promise resolves with the result.
    first.ws.send(
      JSON.stringify({
        type: 'invocationresult',
        invocation_id: invocationId,
        function_id: 'other::fn',
        result: 'r',
      }),
    );
    await expect(call).resolves.toBe('r');

    // The engine invokes the worker's function: it answers with exactly this frame.
    first.ws.send(
      JSON.stringify({
        type: 'invokefunction',
        invocation_id: 'inv-1',
        function_id: 'transcript::double',
        data: { n: 21 },
      }),
    );
    await until(() => first.frames.length === 4);
    expect(first.frames[3]).toEqual({
      type: 'invocationresult',
      invocation_id: 'inv-1',
      function_id: 'transcript::double',
      result: 42,
    });

    // After a lost connection: reattach with the old identity, replay, announce.
    first.ws.terminate();
    await until(() => server.connections[1]?.frames.length === 3);
    const second = server.connections[1]!;
    expect(second.frames.map((f) => f.type)).toEqual(['reattach', 'registerfunction', 'invokefunction']);
    expect(second.frames[0]).toEqual({
      type: 'reattach',
      previous_worker_id: 'worker-1',
      reattach_token: 'token-1',
    });
    expect(second.frames[1]).toEqual(first.frames[0]);
    expect(second.frames[2]).toEqual(first.frames[2]);
  });

  it('replays trigger types, functions, triggers, then queued calls, then the announcement', async () => {
    const server = await recordingServer();
    closers.push(() => new Promise<void>((resolve) => server.wss.close(() => resolve())));
    const client = registerWorker(server.url, { workerName: 'order' });
    closers.push(() => client.shutdown());
    client.registerFunction('order::fn', () => null);
    const trigger = client.registerTrigger({
      type: 'cron',
      function_id: 'order::fn',
      config: { expr: '* * * * *' },
    });
    client.registerTriggerType(
      { id: 'cron', description: 'Cron' },
      { registerTrigger() {}, unregisterTrigger() {} },
    );
    void client.trigger({ function_id: 'x::y', payload: null, action: { type: 'void' } });
    await until(() => server.connections[0]?.frames.length === 5);
    expect(server.connections[0]!.frames).toEqual([
      { type: 'registertriggertype', id: 'cron', description: 'Cron' },
      { type: 'registerfunction', id: 'order::fn' },
      {
        type: 'registertrigger',
        id: trigger.id,
        trigger_type: 'cron',
        function_id: 'order::fn',
        config: { expr: '* * * * *' },
      },
      { type: 'invokefunction', function_id: 'x::y', data: null, action: { type: 'void' } },
      expect.objectContaining({ type: 'invokefunction', function_id: 'engine::workers::register' }),
    ]);
  });

  it('answers a JSON ping with pong and a handler error with invocation_failed', async () => {
    const server = await recordingServer();
    closers.push(() => new Promise<void>((resolve) => server.wss.close(() => resolve())));
    const client = registerWorker(server.url, { workerName: 'errors', announce: false });
    closers.push(() => client.shutdown());
    client.registerFunction('errors::boom', () => {
      throw new Error('kaboom');
    });
    await until(() => server.connections[0]?.frames.length === 1);
    const conn = server.connections[0]!;
    conn.ws.send(JSON.stringify({ type: 'ping' }));
    conn.ws.send(
      JSON.stringify({ type: 'invokefunction', invocation_id: 'e-1', function_id: 'errors::boom', data: {} }),
    );
    conn.ws.send(
      JSON.stringify({
        type: 'invokefunction',
        invocation_id: 'e-2',
        function_id: 'errors::missing',
        data: {},
      }),
    );
    await until(() => conn.frames.length === 4);
    expect(conn.frames[1]).toEqual({ type: 'pong' });
    expect(conn.frames[2]).toMatchObject({
      type: 'invocationresult',
      invocation_id: 'e-1',
      function_id: 'errors::boom',
      error: { code: 'invocation_failed', message: 'kaboom', stacktrace: expect.stringContaining('kaboom') },
    });
    expect(conn.frames[3]).toEqual({
      type: 'invocationresult',
      invocation_id: 'e-2',
      function_id: 'errors::missing',
      error: { code: 'function_not_found', message: 'Function not found' },
    });
  });
});
