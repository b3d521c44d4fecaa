import { type Engine, startEngine } from '@iii/engine';
import { registerWorker, type WorkerClient } from '@iii/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitForFunctions } from './helpers/worker-process.js';

function open(url: string, onSocket: (ws: WebSocket) => void = () => {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    onSocket(ws);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Collects the JSON text frames a raw socket receives. */
function record(ws: WebSocket): Array<Record<string, unknown>> {
  const frames: Array<Record<string, unknown>> = [];
  ws.on('message', (data, isBinary) => {
    if (!isBinary) frames.push(JSON.parse(data.toString()));
  });
  return frames;
}

describe('engine under bad input', () => {
  let engine: Engine;
  let worker: WorkerClient;
  let caller: WorkerClient;
  const debug: string[] = [];

  beforeAll(async () => {
    engine = await startEngine({ port: 0, maxPayload: 64 * 1024, debug: (m) => debug.push(m) });
    worker = registerWorker(engine.address, { workerName: 'calm' });
    worker.registerFunction('calm::echo', (data: unknown) => data);
    caller = registerWorker(engine.address, { announce: false });
    await waitForFunctions(caller, ['calm::echo']);
  });

  afterAll(async () => {
    await worker?.shutdown();
    await caller?.shutdown();
    await engine?.close();
  });

  it('ignores malformed JSON, unknown frame types and bad fields, keeping the connection open', async () => {
    let frames: Array<Record<string, unknown>> = [];
    // Recording starts before the handshake completes: the engine speaks first.
    const raw = await open(engine.address, (ws) => {
      frames = record(ws);
    });
    for (const text of [
      'not json at all',
      '{"type":',
      '[1,2,3]',
      '"just a string"',
      '{"no_type":true}',
      '{"type":"definitely-not-a-frame","x":1}',
      '{"type":"invokefunction"}',
      '{"type":"invokefunction","function_id":42,"invocation_id":"x"}',
      '{"type":"invocationresult","invocation_id":"nobody-asked"}',
      '{"type":"registerfunction"}',
      '{"type":"registertrigger","id":5}',
      '{"type":"reattach","previous_worker_id":"a","reattach_token":"b"}',
    ]) {
      raw.send(text);
    }
    raw.send(Buffer.from([0, 1, 2, 3]), { binary: true });
    // The same socket still works, with unknown fields ignored.
    raw.send(
      JSON.stringify({
        type: 'invokefunction',
        invocation_id: 'i-1',
        function_id: 'calm::echo',
        data: 7,
        extra: 'x',
      }),
    );
    raw.send(JSON.stringify({ type: 'ping' }));
    await expect.poll(() => frames.length).toBeGreaterThanOrEqual(3);
    expect(frames[0]).toMatchObject({ type: 'workerregistered' });
    expect(frames).toContainEqual({
      type: 'invocationresult',
      invocation_id: 'i-1',
      function_id: 'calm::echo',
      result: 7,
    });
    expect(frames).toContainEqual({ type: 'pong' });
    expect(raw.readyState).toBe(WebSocket.OPEN);
    expect(debug.some((m) => m.includes('malformed'))).toBe(true);
    expect(debug.some((m) => m.includes('definitely-not-a-frame'))).toBe(true);
    raw.close();
  });

  it('closes only the connection that sends a frame over the limit; others keep working', async () => {
    const raw = await open(engine.address);
    const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
    raw.on('error', () => {});
    const inflight = caller.trigger({ function_id: 'calm::echo', payload: { before: true } });
    raw.send(
      JSON.stringify({ type: 'invokefunction', function_id: 'calm::echo', data: 'x'.repeat(200 * 1024) }),
    );
    expect(await closed).toBe(1009);
    await expect(inflight).resolves.toMatchObject({ before: true });
    await expect(
      caller.trigger({ function_id: 'calm::echo', payload: { after: true } }),
    ).resolves.toMatchObject({
      after: true,
    });
    // New connections are still accepted.
    const again = await open(engine.address);
    again.close();
  });

  it('answers an unknown path with 404 and ignores junk on /otel', async () => {
    await expect(open(`${engine.address}/nope`)).rejects.toThrow(/404/);
    const otel = await open(`${engine.address}/otel`);
    otel.send(Buffer.from('XXXXjunk'), { binary: true });
    otel.send(Buffer.from('LOGS{not json'), { binary: true });
    otel.send('text on otel');
    await expect(caller.trigger({ function_id: 'calm::echo', payload: 1 })).resolves.toBe(1);
    expect(otel.readyState).toBe(WebSocket.OPEN);
    otel.close();
  });
});
