import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Engine, startEngine } from '@iii/engine';
import { registerWorker, type TriggerConfig, type WorkerClient } from '@iii/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, waitForFunctions } from './helpers/worker-process.js';

/** A frame as a raw peer sees it; the fields the tests read are strings. */
type WireFrame = Record<string, unknown> & {
  worker_id?: string;
  reattach_token?: string;
  invocation_id?: string;
};

interface RawPeer {
  ws: WebSocket;
  frames: Array<WireFrame>;
  next(type: string): Promise<WireFrame>;
  send(frame: Record<string, unknown>): void;
}

async function rawPeer(url: string): Promise<RawPeer> {
  const ws = new WebSocket(url);
  const frames: Array<WireFrame> = [];
  ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let seen = 0;
  return {
    ws,
    frames,
    async next(type) {
      for (;;) {
        const i = frames.findIndex((f, idx) => idx >= seen && f.type === type);
        if (i >= 0) {
          seen = i + 1;
          return frames[i]!;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    send: (frame) => ws.send(JSON.stringify(frame)),
  };
}

describe('router', () => {
  let engine: Engine;
  let caller: WorkerClient;
  const clients: WorkerClient[] = [];
  const sockets: WebSocket[] = [];
  const client = (name: string) => {
    const c = registerWorker(engine.address, { workerName: name });
    clients.push(c);
    return c;
  };

  const reports: string[] = [];

  beforeAll(async () => {
    engine = await startEngine({ port: 0, report: (line) => reports.push(line) });
    caller = registerWorker(engine.address, { announce: false });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.shutdown();
    for (const s of sockets.splice(0)) s.terminate();
  });
  afterAll(async () => {
    await caller?.shutdown();
    await engine?.close();
  });

  /** `engine::functions::list` rows of one function id. */
  const listed = async (id: string) => {
    const { functions } = await caller.trigger<
      unknown,
      {
        functions: Array<{
          function_id: string;
          worker_name: string;
          worker_id?: string;
          standby?: Array<{ worker_name: string; worker_id: string }>;
        }>;
      }
    >({ function_id: 'engine::functions::list', payload: { prefix: id } });
    return functions.find((f) => f.function_id === id);
  };
  const announce = (peer: RawPeer, name: string) =>
    peer.send({
      type: 'invokefunction',
      function_id: 'engine::workers::register',
      data: { name },
      action: { type: 'void' },
    });

  it('keeps a function with its first live registrant, refuses a second with a log line, and hands it over when the first leaves', async () => {
    const first = client('first');
    first.registerFunction('shared::who', () => 'first');
    await waitForFunctions(caller, ['shared::who']);
    const second = await rawPeer(engine.address);
    sockets.push(second.ws);
    const hello = await second.next('workerregistered');
    second.send({ type: 'registerfunction', id: 'shared::who' });
    // The refused worker hears why, in the reference engine's words, and stays connected.
    expect(await second.next('registrationrejected')).toEqual({
      type: 'registrationrejected',
      code: 'FUNCTION_NAMESPACE_CONFLICT',
      namespace: 'default',
      function_id: 'shared::who',
      owner_worker_id: first.workerId,
    });
    announce(second, 'second');
    await eventually(() => reports.some((r) => r.includes('"shared::who"')));
    expect(reports).toContain(
      'function "shared::who" is already served by worker "first"; refused it from worker "second" (it takes over if "first" leaves)',
    );
    await expect(caller.trigger({ function_id: 'shared::who', payload: {} })).resolves.toBe('first');
    expect(await listed('shared::who')).toEqual({
      function_id: 'shared::who',
      worker_name: 'first',
      worker_id: first.workerId,
      standby: [{ worker_name: 'second', worker_id: hello.worker_id }],
    });
    expect(second.ws.readyState).toBe(WebSocket.OPEN);

    // The first worker leaves: the function is not lost, the second serves it.
    await first.shutdown();
    await eventually(async () => (await listed('shared::who'))?.worker_name === 'second');
    expect((await listed('shared::who'))?.standby).toBeUndefined();
    expect(reports).toContain('function "shared::who": worker "first" left; worker "second" serves it now');
    const call = caller.trigger({ function_id: 'shared::who', payload: {} });
    const invoke = await second.next('invokefunction');
    second.send({
      type: 'invocationresult',
      invocation_id: invoke.invocation_id,
      function_id: 'shared::who',
      result: 'second',
    });
    await expect(call).resolves.toBe('second');
  });

  it('hands a function to the next registrant in line when its server unregisters it', async () => {
    const a = client('line-a');
    const b = client('line-b');
    const c = client('line-c');
    const reg = a.registerFunction('line::fn', () => 'a');
    await waitForFunctions(caller, ['line::fn']);
    b.registerFunction('line::fn', () => 'b');
    await eventually(async () => (await listed('line::fn'))?.standby?.length === 1);
    c.registerFunction('line::fn', () => 'c');
    await eventually(async () => (await listed('line::fn'))?.standby?.length === 2);
    expect((await listed('line::fn'))?.standby?.map((s) => s.worker_name)).toEqual(['line-b', 'line-c']);
    reg.unregister();
    await eventually(async () => (await caller.trigger({ function_id: 'line::fn', payload: {} })) === 'b');
    expect(reports).toContain(
      'function "line::fn": worker "line-a" unregistered it; worker "line-b" serves it now',
    );
    // A standby that leaves is dropped from the line; the server keeps serving.
    await c.shutdown();
    await eventually(async () => (await listed('line::fn'))?.standby === undefined);
    await expect(caller.trigger({ function_id: 'line::fn', payload: {} })).resolves.toBe('b');
  });

  it('lets a worker re-register its own function (and after reattach) without a conflict', async () => {
    const old = await rawPeer(engine.address);
    sockets.push(old.ws);
    const hello = await old.next('workerregistered');
    old.send({ type: 'registerfunction', id: 'mine::fn', description: 'v1' });
    old.send({ type: 'registerfunction', id: 'mine::fn', description: 'v2' });
    announce(old, 'mine');
    await waitForFunctions(caller, ['mine::fn']);
    const rival = client('rival');
    rival.registerFunction('mine::fn', () => 'rival');
    await eventually(async () => (await listed('mine::fn'))?.standby?.length === 1);

    // The worker reconnects and replays, as the SDKs do: reattach first, then its registrations.
    const fresh = await rawPeer(engine.address);
    sockets.push(fresh.ws);
    const freshHello = await fresh.next('workerregistered');
    fresh.send({
      type: 'reattach',
      previous_worker_id: hello.worker_id,
      reattach_token: hello.reattach_token,
    });
    fresh.send({ type: 'registerfunction', id: 'mine::fn', description: 'v2' });
    announce(fresh, 'mine');
    await eventually(async () => (await listed('mine::fn'))?.worker_id === freshHello.worker_id);
    expect(await listed('mine::fn')).toMatchObject({
      worker_name: 'mine',
      standby: [{ worker_name: 'rival' }],
    });
    expect(old.frames.some((f) => f.type === 'registrationrejected')).toBe(false);
    expect(fresh.frames.some((f) => f.type === 'registrationrejected')).toBe(false);
    expect(reports.filter((r) => r.includes('"mine::fn"'))).toEqual([
      'function "mine::fn" is already served by worker "mine"; refused it from worker "rival" (it takes over if "mine" leaves)',
    ]);
    const info = await caller.trigger<unknown, { description?: string }>({
      function_id: 'engine::functions::info',
      payload: { function_id: 'mine::fn' },
    });
    expect(info.description).toBe('v2');
  });

  it('refuses a worker function that would shadow a built-in', async () => {
    const peer = await rawPeer(engine.address);
    sockets.push(peer.ws);
    await peer.next('workerregistered');
    peer.send({ type: 'registerfunction', id: 'engine::workers::list' });
    expect(await peer.next('registrationrejected')).toMatchObject({
      code: 'FUNCTION_NAMESPACE_CONFLICT',
      function_id: 'engine::workers::list',
      owner_worker_id: '',
    });
    announce(peer, 'shadow');
    await eventually(() => reports.some((r) => r.includes('"shadow"')));
    expect(reports).toContain(
      'function "engine::workers::list" is built into the engine; refused it from worker "shadow"',
    );
    const { workers } = await caller.trigger<unknown, { workers: unknown[] }>({
      function_id: 'engine::workers::list',
      payload: {},
    });
    expect(Array.isArray(workers)).toBe(true);
  });

  it('lets the SDK time out a call the engine keeps open, with code TIMEOUT', async () => {
    const stuck = client('stuck');
    stuck.registerFunction('stuck::never', () => new Promise(() => {}));
    await waitForFunctions(caller, ['stuck::never']);
    const err = await caller
      .trigger({ function_id: 'stuck::never', payload: {}, timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', function_id: 'stuck::never' });
  });

  it('drops results for a caller that disconnected, without disturbing others', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = client('gated');
    slow.registerFunction('gated::wait', async () => {
      await gate;
      return 'done';
    });
    await waitForFunctions(caller, ['gated::wait']);
    const leaving = registerWorker(engine.address, { announce: false });
    const abandoned = leaving.trigger({ function_id: 'gated::wait', payload: {} }).catch((e: unknown) => e);
    await eventually(async () => {
      const { workers } = await caller.trigger<
        unknown,
        {
          workers: Array<{ name: string; active_invocations: number }>;
        }
      >({
        function_id: 'engine::workers::list',
        payload: {},
      });
      return workers.find((w) => w.name === 'gated')?.active_invocations === 1;
    });
    await leaving.shutdown();
    expect(await abandoned).toMatchObject({ code: 'CLIENT_SHUT_DOWN' });
    release();
    await expect(caller.trigger({ function_id: 'gated::wait', payload: {} })).resolves.toBe('done');
  });

  it('keeps a trigger until a provider of its type registers, then delivers it and relays the outcome', async () => {
    const user = client('trigger-user');
    user.registerFunction('tick::handler', () => 'ok');
    const registered = user.registerTrigger({
      type: 'tick',
      function_id: 'tick::handler',
      config: { every: '1s' },
    });
    await waitForFunctions(caller, ['tick::handler']);

    const received: TriggerConfig[] = [];
    const removed: string[] = [];
    const provider = client('tick-provider');
    provider.registerTriggerType(
      { id: 'tick', description: 'Calls a function periodically' },
      {
        registerTrigger: (t) => {
          received.push(t);
        },
        unregisterTrigger: (t) => {
          removed.push(t.id);
        },
      },
    );
    await eventually(() => received.length === 1);
    expect(received[0]).toEqual({
      id: registered.id,
      function_id: 'tick::handler',
      config: { every: '1s' },
      metadata: undefined,
    });
    registered.unregister();
    await eventually(() => removed.includes(registered.id));
  });

  it('tells the registrant when the provider refuses a trigger', async () => {
    const refusing = client('refusing-provider');
    refusing.registerTriggerType(
      { id: 'picky', description: 'Refuses every trigger' },
      {
        registerTrigger: () => {
          throw new Error('bad config');
        },
        unregisterTrigger: () => {},
      },
    );
    const user = await rawPeer(engine.address);
    sockets.push(user.ws);
    await eventually(async () => {
      const { workers } = await caller.trigger<unknown, { workers: Array<{ name: string }> }>({
        function_id: 'engine::workers::list',
        payload: {},
      });
      return workers.some((w) => w.name === 'refusing-provider');
    });
    user.send({
      type: 'registertrigger',
      id: 'trg-1',
      trigger_type: 'picky',
      function_id: 'x::y',
      config: {},
    });
    expect(await user.next('triggerregistrationresult')).toEqual({
      type: 'triggerregistrationresult',
      id: 'trg-1',
      trigger_type: 'picky',
      function_id: 'x::y',
      error: { code: 'trigger_registration_failed', message: 'bad config' },
    });
  });

  it('calls an HTTP-invoked function over HTTP with the call data, and reports HTTP failures', async () => {
    const seen: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ method: req.method, auth: req.headers.authorization, body: JSON.parse(body) });
        if (req.url === '/fail') res.writeHead(503).end('down');
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const owner = client('http-owner');
      owner.registerFunction('web::ok', { url: `${base}/ok`, headers: { authorization: 'Bearer t' } });
      owner.registerFunction('web::fail', { url: `${base}/fail` });
      await waitForFunctions(caller, ['web::ok', 'web::fail']);
      await expect(caller.trigger({ function_id: 'web::ok', payload: { q: 1 } })).resolves.toEqual({
        ok: true,
      });
      expect(seen[0]).toEqual({
        method: 'POST',
        auth: 'Bearer t',
        body: { q: 1, _caller_worker_id: caller.workerId },
      });
      const err = await caller.trigger({ function_id: 'web::fail', payload: {} }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'http_error', message: expect.stringContaining('503') });
    } finally {
      server.close();
    }
  });

  it('keeps two callers apart when they pick the same invocation id, and relays large results whole', async () => {
    const echo = client('echo');
    echo.registerFunction('echo::it', (data: { tag: string; blob?: string }) => ({
      tag: data.tag,
      blob: data.blob,
    }));
    await waitForFunctions(caller, ['echo::it']);
    const a = await rawPeer(engine.address);
    const b = await rawPeer(engine.address);
    sockets.push(a.ws, b.ws);
    const blob = 'x'.repeat(1024 * 1024);
    a.send({
      type: 'invokefunction',
      invocation_id: 'same',
      function_id: 'echo::it',
      data: { tag: 'a', blob },
    });
    b.send({ type: 'invokefunction', invocation_id: 'same', function_id: 'echo::it', data: { tag: 'b' } });
    const [ra, rb] = await Promise.all([a.next('invocationresult'), b.next('invocationresult')]);
    expect(ra).toMatchObject({ invocation_id: 'same', result: { tag: 'a' } });
    expect((ra.result as { blob: string }).blob).toBe(blob);
    expect(rb).toMatchObject({ invocation_id: 'same', result: { tag: 'b' } });
  });

  it('moves in-flight work to the new connection of a worker that reattaches with its token', async () => {
    const old = await rawPeer(engine.address);
    sockets.push(old.ws);
    const hello = await old.next('workerregistered');
    old.send({ type: 'registerfunction', id: 'moving::fn' });
    await waitForFunctions(caller, ['moving::fn']);
    const call = caller.trigger({ function_id: 'moving::fn', payload: { v: 1 } });
    const invoke = await old.next('invokefunction');
    const oldClosed = new Promise((resolve) => old.ws.once('close', resolve));

    const fresh = await rawPeer(engine.address);
    sockets.push(fresh.ws);
    await fresh.next('workerregistered');
    // A wrong token changes nothing.
    fresh.send({ type: 'reattach', previous_worker_id: hello.worker_id, reattach_token: 'guess' });
    fresh.send({
      type: 'reattach',
      previous_worker_id: hello.worker_id,
      reattach_token: hello.reattach_token,
    });
    fresh.send({ type: 'registerfunction', id: 'moving::fn' });
    await oldClosed;
    fresh.send({
      type: 'invocationresult',
      invocation_id: invoke.invocation_id,
      function_id: 'moving::fn',
      result: 'answered by the new connection',
    });
    await expect(call).resolves.toBe('answered by the new connection');
  });
});
