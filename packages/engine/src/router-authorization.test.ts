import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { functionBuiltins } from './builtins/function-builtins.js';
import type { Peer } from './peer.js';
import { Router } from './router.js';
import { WorkerConnection } from './worker-connection.js';

/** A connection whose socket records what the router sends it. */
function connection(access: Peer['access']): {
  conn: WorkerConnection;
  sent: Array<Record<string, unknown>>;
} {
  const sent: Array<Record<string, unknown>> = [];
  const socket = {
    readyState: 1,
    send: (text: string) => sent.push(JSON.parse(text)),
  } as unknown as WebSocket;
  return { conn: new WorkerConnection(socket, '127.0.0.1', 0, { address: '127.0.0.1:5000', access }), sent };
}

function setup() {
  const warnings: string[] = [];
  const calls: unknown[] = [];
  const router = new Router(
    () => {},
    (m) => warnings.push(m),
  );
  router.addBuiltin('iii::secret', {
    ownerOnly: true,
    handler: (data) => {
      calls.push(data);
      return 'revealed';
    },
  });
  router.addBuiltin('engine::open', { handler: () => 'open' });
  for (const [id, def] of Object.entries(functionBuiltins(router))) router.addBuiltin(id, def);
  return { router, warnings, calls };
}

const invoke = (id: string, fn: string, data: unknown = {}) =>
  JSON.stringify({ type: 'invokefunction', invocation_id: id, function_id: fn, data });

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('router authorization', () => {
  it('answers forbidden to an anonymous or wrong-token caller, runs nothing, and logs each once', async () => {
    const { router, warnings, calls } = setup();
    for (const access of ['anonymous', 'wrong-token'] as const) {
      const { conn, sent } = connection(access);
      router.attach(conn);
      router.handleText(conn, invoke('1', 'iii::secret', { password: 'hunter2' }));
      router.handleText(conn, invoke('2', 'iii::secret', { password: 'hunter2' }));
      router.handleText(
        conn,
        JSON.stringify({ type: 'invokefunction', function_id: 'iii::secret', data: {} }),
      );
      await settle();
      const results = sent.filter((f) => f.type === 'invocationresult');
      expect(results).toHaveLength(2);
      for (const r of results) expect(r.error).toMatchObject({ code: 'forbidden' });
    }
    expect(calls).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^refused iii::secret to client \S+ from 127\.0\.0\.1:5000: it presented no management token$/,
    );
    expect(warnings[1]).toMatch(/not this engine’s$/);
    expect(warnings.join('\n')).not.toContain('hunter2');
  });

  it('serves the owner, and everyone the functions that are not owner-only', async () => {
    const { router, calls } = setup();
    const owner = connection('owner');
    const stranger = connection('anonymous');
    router.attach(owner.conn);
    router.attach(stranger.conn);
    router.handleText(owner.conn, invoke('1', 'iii::secret', { n: 1 }));
    router.handleText(stranger.conn, invoke('2', 'engine::open'));
    await settle();
    expect(owner.sent.find((f) => f.invocation_id === '1')).toMatchObject({ result: 'revealed' });
    expect(stranger.sent.find((f) => f.invocation_id === '2')).toMatchObject({ result: 'open' });
    expect(calls).toHaveLength(1);
  });

  it('lists and describes owner-only functions to the owner only', async () => {
    const { router } = setup();
    const owner = connection('owner');
    const stranger = connection('anonymous');
    for (const c of [owner, stranger]) {
      router.attach(c.conn);
      router.handleText(c.conn, invoke('l', 'engine::functions::list', { include_internal: true }));
      router.handleText(c.conn, invoke('i', 'engine::functions::info', { function_id: 'iii::secret' }));
    }
    await settle();
    const ids = (c: typeof owner) => {
      const listed = c.sent.find((f) => f.invocation_id === 'l')?.result as
        | { functions: { function_id: string }[] }
        | undefined;
      return (listed?.functions ?? []).map((f) => f.function_id);
    };
    expect(ids(owner)).toContain('iii::secret');
    expect(ids(stranger)).not.toContain('iii::secret');
    expect(ids(stranger)).toContain('engine::open');
    expect(owner.sent.find((f) => f.invocation_id === 'i')).toHaveProperty('result');
    expect(stranger.sent.find((f) => f.invocation_id === 'i')?.error).toMatchObject({
      code: 'function_not_found',
    });
  });

  it('keeps a built-in id from being taken by a worker', async () => {
    const { router } = setup();
    const squatter = connection('anonymous');
    const owner = connection('owner');
    router.attach(squatter.conn);
    router.attach(owner.conn);
    router.handleText(squatter.conn, JSON.stringify({ type: 'registerfunction', id: 'iii::secret' }));
    router.handleText(owner.conn, invoke('1', 'iii::secret'));
    await settle();
    expect(squatter.sent.filter((f) => f.type === 'invokefunction')).toEqual([]);
    expect(owner.sent.find((f) => f.invocation_id === '1')).toMatchObject({ result: 'revealed' });
  });
});
